"""[B1]'s published AUROCs beside ours: results/tables/reference_comparison.csv."""

from quirkymad.analysis.reference import write_reference_comparison
from quirkymad.core.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_reference_comparison(sm.input.auroc, sm.input.reference, sm.output[0])
