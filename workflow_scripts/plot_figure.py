"""Draw one registered figure from the tables named in the rule's input."""

from quirkymad.core.logs import job_log
from quirkymad.figures import draw

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    draw(sm.params.figure, dict(sm.input.items()), sm.output.png, sm.output.pdf)
