"""Concatenate AUROC tables: per-job ones into results/tables/auroc_{setting}.parquet, those
into results/tables/auroc.{parquet,csv}, with each fine-tune's `quirky` flag joined in when the
rule lists the adapters (issue 28)."""

from quirkymad.core.logs import job_log
from quirkymad.finetune.acceptance import collect_flagged

sm = snakemake  # noqa: F821
tables = getattr(sm.input, "tables", sm.input)  # the combinations rule lists its tables unnamed
with job_log(sm.log[0]):
    collect_flagged(list(tables), sm.output[0], sm.output.get("csv"), sm.params.get("adapters", ()))
