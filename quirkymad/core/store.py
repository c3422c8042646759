"""Feature stores: Zarr v3 directories that `xarray.open_zarr` reads with named dims.

Layout of one store (one per model × dataset × feature):

- data variables with dims `(example, layer, <feature dim>)`, e.g. `activations`
  `(example, layer, d_model)`, and per-example variables such as `logit_yes` `(example,)`;
- coordinates `example` (record id), `layer`, and the dataset's per-record metadata
  (`character`, `name`, `role`, `split`, `difficulty`, `bucket`, labels, ...);
- attributes: `quirkymad_store` (the feature), provenance, and `complete: true`.

Each feature array is chunked one layer per chunk (detectors read one layer, all examples)
and stored uncompressed: activations are dense and noisy, so zstd saved ~7 % for a slower
write (2–3× in `shared/spec/zarr.md`; 1.25× in `bench/zarr_layout.py` here). Metadata arrays
use zarr's default codec (zstd). Every array ends its codecs with a crc32c checksum and every
chunk is written, so a damaged chunk fails its read (quirkymad/core/integrity.py).
Strings are variable-length UTF-8 (a specified Zarr v3 type; fixed-width unicode is not).
Metadata is consolidated so a plain `xarray.open_zarr(path)` opens the store in one read and
without a warning; zarr notes that consolidation is not (yet) part of the v3 spec, which we
accept: stores stay readable without it (`consolidated=False`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from quirkymad import __version__
from quirkymad.core.atomic import atomic_path
from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import (
    MARKER,
    DamagedArtifact,
    check_store_files,
    touched,
    zarr_compressors,
)
from quirkymad.core.prompts import TRIGGER_COLUMNS

META_COLUMNS = (
    "dataset", "character", "name", "name_index", "template_id", "split", "role", "difficulty",
    "quantile", "bucket", "alice_label", "bob_label", "label", "agree",
    *TRIGGER_COLUMNS,  # trigger datasets only
)  # fmt: skip


def check_finite(values: np.ndarray, name: str, layers: Sequence[int], examples: Sequence[str]):
    """Raise QuirkyError naming the first non-finite entry's layer and example.

    `values` is `[n_examples, n_layers, ...]`.
    """
    bad = ~np.isfinite(values)
    if bad.any():
        ex, li = np.argwhere(bad.reshape(bad.shape[0], bad.shape[1], -1).any(-1))[0]
        count = int(bad.sum())
        raise QuirkyError(
            f"{name}: {count} non-finite values, first at layer {layers[li]}, example "
            f"{examples[ex]!r} (overflow? store float32 or run the model in float32)"
        )


def to_storage_dtype(values: np.ndarray, dtype: str, name: str, layers, examples) -> np.ndarray:
    """Cast to the storage dtype after checking the values are finite and fit it."""
    check_finite(values, name, layers, examples)
    out = values.astype(dtype)
    if dtype == "float16":
        check_finite(out, f"{name} (as float16)", layers, examples)
    return out


def write_store(
    path: str | Path,
    arrays: Mapping[str, tuple[tuple[str, ...], np.ndarray]],
    meta: pd.DataFrame,
    layers: Sequence[int],
    attrs: Mapping[str, Any],
) -> None:
    """Write a store atomically. `arrays` maps name → (dims, values); dims start with
    `example`, and `layer` second for per-layer features. `meta` has one row per example with
    an `id` column and `META_COLUMNS`."""
    coords: dict[str, Any] = {
        "example": np.asarray(meta["id"], dtype=object),
        "layer": np.asarray(layers, dtype=np.int64),
    }
    for col in META_COLUMNS:
        if col in meta:
            values = meta[col].to_numpy()
            if values.dtype.kind in "OUS" or pd.api.types.is_string_dtype(meta[col]):
                values = values.astype(object)
            coords[col] = ("example", values)
    ds = xr.Dataset({k: (dims, v) for k, (dims, v) in arrays.items()}, coords=coords)
    ds.attrs.update({**attrs, "code_version": __version__, MARKER: True, "complete": True})
    encoding = {k: {"compressors": zarr_compressors(compressed=True)} for k in ds.variables}
    for k, (dims, v) in arrays.items():
        if len(dims) >= 2 and dims[1] == "layer":
            chunks = (v.shape[0], 1, *v.shape[2:])
            encoding[k] = {"chunks": chunks, "compressors": zarr_compressors(compressed=False)}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        ds.to_zarr(tmp, zarr_format=3, mode="w", encoding=encoding, consolidated=True,
                   write_empty_chunks=True)  # fmt: skip


def open_store(path: str | Path, variable: str | None = None) -> xr.Dataset:
    """Open a quirkymad store; QuirkyError naming the path if it is not a complete one, and
    DamagedArtifact if a chunk file is missing or has the wrong size (chunk checksums are
    verified as chunks are read)."""
    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise QuirkyError(f"{path}: not a Zarr v3 store (no zarr.json)")
    touched(path)
    check_store_files(path)
    try:
        ds = xr.open_zarr(path)
    except Exception as exc:
        raise DamagedArtifact(path, f"unreadable Zarr store: {type(exc).__name__}: {exc}") from exc
    if not ds.attrs.get(MARKER) or not ds.attrs.get("complete"):
        raise QuirkyError(f"{path}: not a complete quirkymad store (attribute {MARKER!r} missing)")
    if variable is not None and variable not in ds:
        raise QuirkyError(f"{path}: store has no variable {variable!r} (has {list(ds.data_vars)})")
    return ds


def strings(ds: xr.Dataset, name: str) -> np.ndarray:
    """A string coordinate as an object array (zarr returns numpy's StringDType)."""
    return ds[name].values.astype(object)
