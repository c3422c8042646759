"""Paired AUROC differences of the configured score pairs (results/tables/comparisons.*)."""

from quirkymad.logs import job_log
from quirkymad.stats.compare import write_comparisons

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_comparisons(sm.params.jobs, sm.output.parquet, sm.output.csv, skipped=sm.params.skipped,
                      n_boot=sm.params.n_bootstrap, seed=sm.params.seed,
                      within=sm.params.name_bootstrap)  # fmt: skip
