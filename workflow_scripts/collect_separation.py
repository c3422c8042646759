"""Concatenate the separation tables of every (model, dataset)."""

from quirkymad.core.logs import job_log
from quirkymad.core.tables import concat_tables

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    concat_tables(list(sm.input.per_layer), sm.output.per_layer, sm.output.per_layer_csv)
    concat_tables(list(sm.input.summary), sm.output.summary, sm.output.summary_csv)
