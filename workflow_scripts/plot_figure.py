"""Draw one registered figure from the tables named in the rule's input."""

from quirkymad.figures import draw
from quirkymad.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    draw(sm.params.figure, dict(sm.input.items()), sm.output.png, sm.output.pdf)
