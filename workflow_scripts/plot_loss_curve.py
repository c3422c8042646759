"""Draw one fine-tuning job's loss curve from its training log."""

import pandas as pd

from quirkymad.core.logs import job_log
from quirkymad.figures.loss_curve import draw_loss_curve

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    seed = f" (seed {sm.wildcards.replicate[4:-1]})" if sm.wildcards.replicate else ""
    title = f"{sm.wildcards.model} / {sm.wildcards.dataset}{seed}: fine-tuning"
    draw_loss_curve(pd.read_csv(sm.input.log_table), title, sm.output.png, sm.output.pdf)
