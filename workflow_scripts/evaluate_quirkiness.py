"""Own- and opposing-prompt log-odds, losses and the quirkiness coefficient."""

from quirkymad.core.logs import job_log
from quirkymad.diagnostics.settings import DiagnosticsSettings
from quirkymad.diagnostics.stage import evaluate_quirkiness
from quirkymad.workflow.config import replicate_seed

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    evaluate_quirkiness(
        sm.input.model,
        sm.input.adapter,
        sm.input.data,
        sm.output.per_example,
        sm.output.summary,
        labels={
            "model": sm.wildcards.model,
            "dataset": sm.wildcards.dataset,
            "seed": replicate_seed(sm.wildcards.replicate, sm.config),
        },
        activations_store=getattr(sm.input, "activations", None),
        settings=DiagnosticsSettings(**sm.params.settings),
    )
