"""The paper's AUROC summary tables, per dataset and overall."""

from quirkymad.analysis.summary import write_summaries
from quirkymad.core.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_summaries(sm.input[0], sm.output.by_dataset, sm.output.overall)
