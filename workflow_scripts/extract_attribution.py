"""Extract the attribution-type stores (the rule's named outputs: attribution and its variants, or
probe shift) from shared passes."""

from quirkymad.core.logs import job_log
from quirkymad.features.extraction import AttributionSettings, extract_attribution_stores

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    extract_attribution_stores(
        sm.input.model,
        sm.input.adapter,
        sm.input.data,
        dict(sm.output.items()),
        {f: AttributionSettings(**s) for f, s in sm.params.settings.items()},
    )
