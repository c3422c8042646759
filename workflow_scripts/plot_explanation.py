"""Draw the explanation figure of one model x dataset (best layer of the explained job)."""

from quirkymad.figures.explain import draw_explanation
from quirkymad.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    draw_explanation(sm.input.explain, sm.input.scores, sm.output.png, sm.output.pdf)
