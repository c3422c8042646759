"""Concatenate AUROC tables: per-job ones into results/tables/auroc_{setting}.parquet, those
into results/tables/auroc.{parquet,csv}."""

from quirkymad.logs import job_log
from quirkymad.tables import concat_tables

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    concat_tables(list(sm.input), sm.output[0], sm.output.get("csv"))
