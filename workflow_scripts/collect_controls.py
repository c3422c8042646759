"""The controls table (issue 28, item 2): within-gender AUROCs, the name-gender-only AUROC,
p_chance_gender, and the base-model negative control, per scoring job."""

from quirkymad.core.logs import job_log
from quirkymad.stats.controls import write_controls
from quirkymad.stats.settings import ScoringSettings

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_controls(
        sm.params.jobs, sm.output.parquet, sm.output.csv, ScoringSettings(**sm.params.scoring)
    )
