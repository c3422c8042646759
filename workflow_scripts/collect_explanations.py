"""Concatenate the directions.parquet of one explained job kind over every model x dataset."""

from pathlib import Path

from quirkymad.explain.stage import DIRECTIONS_FILE
from quirkymad.logs import job_log
from quirkymad.tables import concat_tables

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    concat_tables([Path(d) / DIRECTIONS_FILE for d in sm.input], sm.output[0])
