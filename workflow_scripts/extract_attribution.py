"""Extract the attribution or probe-shift store (params.feature) into a Zarr store."""

from quirkymad.extract import AttributionSettings, extract_attribution_store
from quirkymad.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads, device=sm.params.settings["device"]):
    extract_attribution_store(
        sm.input.model,
        sm.input.adapter,
        sm.input.data,
        sm.output[0],
        AttributionSettings(**sm.params.settings),
        feature=sm.params.feature,
    )
