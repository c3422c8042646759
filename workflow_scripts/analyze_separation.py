"""Hidden-state and logit separation of Alice vs Bob on the hard test mix."""

from quirkymad.analysis.tables import write_separation
from quirkymad.core.logs import job_log
from quirkymad.workflow.config import replicate_seed

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_separation(
        sm.input.store,
        {
            "model": sm.wildcards.model,
            "dataset": sm.wildcards.dataset,
            "seed": replicate_seed(sm.wildcards.replicate, sm.config),
        },
        sm.output.per_layer,
        sm.output.summary,
    )
