"""Concatenate every AUROC table into results/tables/auroc.{parquet,csv}."""

from quirkymad.logs import job_log
from quirkymad.tables import concat_tables

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    concat_tables(list(sm.input), sm.output.parquet, sm.output.csv)
