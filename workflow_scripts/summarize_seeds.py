"""Mean and spread of every AUROC over the replicate seeds (results/tables/auroc_seeds.*)."""

from quirkymad.core.logs import job_log
from quirkymad.stats.seeds import write_seed_summary

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_seed_summary(sm.input[0], sm.output.parquet, sm.output.csv)
