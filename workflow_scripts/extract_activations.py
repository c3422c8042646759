"""Extract last-token residual activations and answer logits into a Zarr store.

Without an `adapter` input: the base model, on the roles in `params.roles` (transform training)."""

from quirkymad.core.logs import job_log
from quirkymad.features.extraction import ExtractSettings, extract_activation_store

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    extract_activation_store(
        sm.input.model,
        getattr(sm.input, "adapter", None),
        sm.input.data,
        sm.output[0],
        ExtractSettings(**sm.params.settings),
        roles=getattr(sm.params, "roles", None),
    )
