"""Split a scoring job's scores into the components that carry them (explanations.parquet,
directions.parquet in the job's explain directory)."""

from quirkymad.core.logs import job_log
from quirkymad.explain.stage import ExplainSettings, explain_store
from quirkymad.workflow.config import replicate_seed

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    explain_store(
        sm.input.store,
        sm.input.scores,
        feature=sm.wildcards.feature,
        detector=sm.wildcards.detector,
        hparams=sm.params.hparams,
        settings=ExplainSettings(**sm.params.settings),
        out_dir=sm.output[0],
        labels={
            "model": sm.wildcards.model,
            "dataset": sm.wildcards.dataset,
            "seed": replicate_seed(sm.wildcards.replicate, sm.config),
        },
        transform_dir=getattr(sm.input, "transform", None),
        model_dir=sm.input.model,
    )
