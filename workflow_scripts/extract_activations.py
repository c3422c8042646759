"""Extract last-token residual activations and answer logits into a Zarr store.

Without an `adapter` input: the base model, on the roles in `params.roles` (transform training)."""

from quirkymad.extract import ExtractSettings, extract_activation_store
from quirkymad.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads, device=sm.params.settings["device"]):
    extract_activation_store(
        sm.input.model,
        getattr(sm.input, "adapter", None),
        sm.input.data,
        sm.output[0],
        ExtractSettings(**sm.params.settings),
        roles=getattr(sm.params, "roles", None),
    )
