"""Score one layer or feature combination (concat, merge, ensemble) into the job's directory
(scores.parquet, auroc.parquet); quirkymad/scoring/combinations.py."""

from quirkymad.core.logs import job_log
from quirkymad.scoring.combinations import combination_to_directory
from quirkymad.stats.settings import ScoringSettings

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    job = {k: v for k, v in sm.params.settings.items() if k != "hparams"}
    combination_to_directory(
        sm.output[0],
        kind=sm.wildcards.combination,
        stores={f: sm.input[f] for f in sm.wildcards.features.split("+")},
        detectors=sm.wildcards.score.split("+"),
        hparams=sm.params.settings["hparams"],
        # the run's own seed: combinations score its replicate only (rules/common.smk)
        labels={
            "model": sm.wildcards.model,
            "dataset": sm.wildcards.dataset,
            "seed": sm.params.seed,
        },
        scoring=ScoringSettings(**sm.params.scoring),
        seed=sm.params.seed,
        **job,
    )
