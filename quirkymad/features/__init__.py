"""Features read from the model at the last prompt token, written to Zarr stores."""
