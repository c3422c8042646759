"""Extract last-token residual activations and answer logits into a Zarr store."""

from quirkymad.extract import ExtractSettings, extract_activation_store
from quirkymad.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    extract_activation_store(
        sm.input.model,
        sm.input.adapter,
        sm.input.data,
        sm.output[0],
        ExtractSettings(**sm.params.settings),
    )
