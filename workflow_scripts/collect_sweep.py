"""Collect one axis's sweep points into results/tables/sweep_{axis}.{parquet,csv}."""

from quirkymad.core.logs import job_log
from quirkymad.scoring.sweeps import collect_sweep

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    collect_sweep(list(sm.input), sm.output.parquet, sm.output.csv, order=sm.params.order)
