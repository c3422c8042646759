"""Paired AUROC differences of the configured score pairs (results/tables/comparisons.*)."""

from quirkymad.core.logs import job_log
from quirkymad.stats.compare import write_comparisons
from quirkymad.stats.settings import ScoringSettings

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_comparisons(
        sm.params.jobs,
        sm.output.parquet,
        sm.output.csv,
        skipped=sm.params.skipped,
        scoring=ScoringSettings(**sm.params.scoring),
        seed=sm.params.seed,
    )
