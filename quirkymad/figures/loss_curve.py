"""Fine-tuning loss curve of one (model, dataset): train and validation loss against step.

Input: `results/{model}/{dataset}/finetune/training_log.csv` (columns step, train_loss,
val_loss, and where logged a_alice, b_bob and selected; step 0 is the base model). Not a registry figure: there is one
per fine-tuning job, drawn by its own rule.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.figures.common import plt, save_figure


def draw_loss_curve(log: pd.DataFrame, title: str, png: str | Path, pdf: str | Path) -> None:
    """Train loss per step, validation loss at its evaluations, the kept step marked, and
    ln 2 (a 50/50 guess between the two answers) dashed. If the log has quirkiness columns
    (a_alice, b_bob: own-label log-odds on disagreeing validation prompts, spec §7), a second
    panel draws them against step with 0 (no quirk) and 1 nat (the "quirky" bar) marked.

    The kept step is the log's `selected` row if it has one (the fine-tuning's choice, by
    validation loss or quirkiness), else the lowest validation loss."""
    quirk = all(c in log for c in ("a_alice", "b_bob")) and log["a_alice"].notna().any()
    fig, axes = plt.subplots(2 if quirk else 1, 1, figsize=(6, 6.5 if quirk else 4),
                             sharex=True, layout="constrained", squeeze=False)  # fmt: skip
    ax = axes[0, 0]
    train = log.dropna(subset=["train_loss"])
    val = log.dropna(subset=["val_loss"])
    ax.plot(train["step"], train["train_loss"], lw=1, alpha=0.7, label="train (batch)")
    ax.plot(val["step"], val["val_loss"], "o-", ms=4, label="validation")
    kept = None
    if "selected" in log and log["selected"].any():
        kept = log.loc[log["selected"].astype(bool)].iloc[0]
    elif len(val):
        kept = val.loc[val["val_loss"].idxmin()]
    if kept is not None:
        ax.plot(kept["step"], kept["val_loss"], "*", ms=14, color="C3", zorder=3,
                label=f"kept: step {int(kept['step'])}, {kept['val_loss']:.3f}")  # fmt: skip
    ax.axhline(math.log(2), ls="--", color="grey", lw=1, label="ln 2 (50/50 guess)")
    ax.set_ylabel("answer-token cross-entropy (nats)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    if quirk:
        qx = axes[1, 0]
        q = log.dropna(subset=["a_alice", "b_bob"])
        qx.plot(q["step"], q["a_alice"], "o-", ms=4, color="C0", label="a: Alice prompts")
        qx.plot(q["step"], q["b_bob"], "s-", ms=4, color="C1", label="b: Bob prompts")
        qx.axhline(0, color="grey", lw=1)
        qx.axhline(1, ls="--", color="C2", lw=1, label="1 nat (quirky bar)")
        if kept is not None and pd.notna(kept.get("a_alice")):
            qx.axvline(kept["step"], ls=":", color="C3", lw=1, label="kept step")
        qx.set_ylabel("own-label log-odds, disagreeing\nvalidation prompts (nats)")
        qx.legend(fontsize=8)
    bottom = axes[-1, 0]
    gaps = np.diff(val["step"].to_numpy()[:-1])  # the last evaluation may come early
    if log["step"].max() > 10 and len(set(gaps)) > 1:
        bottom.set_xscale("symlog", linthresh=1)  # log-spaced evaluations (paper)
    bottom.set_xlim(left=0)
    bottom.set_xlabel("optimiser step")
    save_figure(fig, png, pdf)
