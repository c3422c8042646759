"""Concatenate the directions.parquet of one explained job kind over every model x dataset."""

from pathlib import Path

from quirkymad.core.logs import job_log
from quirkymad.core.tables import concat_tables
from quirkymad.explain.stage import DIRECTIONS_FILE

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    concat_tables([Path(d) / DIRECTIONS_FILE for d in sm.input], sm.output[0])
