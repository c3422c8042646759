"""Fine-tuning loss curve of one (model, dataset): train and validation loss against step.

Input: `results/{model}/{dataset}/finetune/training_log.csv` (columns step, train_loss,
val_loss; step 0 is the base model's validation loss). Not a registry figure: there is one
per fine-tuning job, drawn by its own rule.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from quirkymad.figures.common import plt, save_figure


def draw_loss_curve(log: pd.DataFrame, title: str, png: str | Path, pdf: str | Path) -> None:
    """Train loss per step, validation loss at its evaluations, the selected (best-validation)
    step marked, and ln 2 (a 50/50 guess between the two answers) dashed."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    train = log.dropna(subset=["train_loss"])
    val = log.dropna(subset=["val_loss"])
    ax.plot(train["step"], train["train_loss"], lw=1, alpha=0.7, label="train (batch)")
    ax.plot(val["step"], val["val_loss"], "o-", ms=4, label="validation")
    if len(val):
        best = val.loc[val["val_loss"].idxmin()]
        ax.plot(best["step"], best["val_loss"], "*", ms=14, color="C3", zorder=3,
                label=f"best: step {int(best['step'])}, {best['val_loss']:.3f}")  # fmt: skip
    ax.axhline(math.log(2), ls="--", color="grey", lw=1, label="ln 2 (50/50 guess)")
    if log["step"].max() > 10:  # log-spaced evaluations (paper) read best on a log axis
        ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("answer-token cross-entropy (nats)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    save_figure(fig, png, pdf)
