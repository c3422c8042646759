"""Fit one detector per layer on trusted features (or on a fitted transform's outputs) and
score the test mix, into the job's directory (scores.parquet, auroc.parquet)."""

from quirkymad.core.logs import job_log
from quirkymad.scoring.stage import score_to_directory
from quirkymad.stats.settings import ScoringSettings

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    score_to_directory(
        sm.output[0],
        sm.input.store,
        feature=sm.wildcards.feature,
        detector=sm.wildcards.detector,
        hparams=sm.params.hparams,
        labels={
            "model": sm.wildcards.model,
            "dataset": sm.wildcards.dataset,
            "seed": sm.params.seed,  # the replicate's (issue 18)
            "transform": sm.wildcards.transform,
        },  # fmt: skip
        scoring=ScoringSettings(**sm.params.scoring),
        seed=sm.params.seed,
        transform_dir=getattr(sm.input, "transform", None),
    )
