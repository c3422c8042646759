"""Per-layer AUROC figure."""

import pandas as pd

from quirkymad.figures.auroc import plot_auroc_per_layer
from quirkymad.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    plot_auroc_per_layer(pd.read_parquet(sm.input[0]), sm.output.png, sm.output.pdf)
