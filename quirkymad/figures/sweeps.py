"""Axes of difficulty (issue 20; docs/sweeps.md): layer-aggregated AUROC against the value of
one sweep axis (results/tables/sweep_{axis}.parquet), a line per feature × detector with its
95 % name-clustered interval (the mean over the value's draws), a panel per model × dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.figures.common import plt, save_figure
from quirkymad.figures.registry import register_figure
from quirkymad.scoring.sweeps import AXES

AXIS_LABELS = {
    "n_trusted": "trusted records",
    "untrusted": "untrusted data an offline detector sees",
    "contamination": "fraction of anomalous records in the untrusted set",
    "trusted_difficulty": "difficulty band of the trusted records (test: hard)",
    "test_difficulty": "difficulty band of the test mix (trusted: easy)",
}


def plot_sweep(sweep: pd.DataFrame, axis: str, png: str | Path, pdf: str | Path) -> None:
    df = sweep[(sweep["layer"] == "all") & (sweep["axis"] == axis)]
    if df.empty:
        raise ValueError(f"the sweep_{axis} table has no layer-aggregated rows")
    order = list(dict.fromkeys(df.sort_values("value_order")["value"]))
    x_of = {v: i for i, v in enumerate(order)}
    panels = list(dict.fromkeys(zip(df["model"], df["dataset"])))
    lines = list(dict.fromkeys(zip(df["feature"], df["detector"])))
    colors = dict(zip(lines, plt.cm.tab10.colors * 3))
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows + 0.6),
                             squeeze=False, sharey=True, layout="constrained")  # fmt: skip
    for ax, (model, dataset) in zip(axes.flat, panels):
        g = df[(df["model"] == model) & (df["dataset"] == dataset)]
        for key in lines:
            d = g[(g["feature"] == key[0]) & (g["detector"] == key[1])]
            if d.empty:
                continue
            d = d.sort_values("value_order")
            x = np.array([x_of[v] for v in d["value"]], dtype=float)
            c = colors[key]
            ax.plot(x, d["auroc"], marker="o", ms=4, color=c, label=f"{key[0]} · {key[1]}")
            ax.fill_between(x, d["ci_low_name"], d["ci_high_name"], color=c, alpha=0.15, lw=0)
        ax.axhline(0.5, ls="--", color="grey", lw=1)
        ax.set_xticks(range(len(order)), order)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{model} · {dataset}", fontsize=9)
        ax.set_xlabel(AXIS_LABELS[axis], fontsize=8)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("AUROC (layer-aggregated)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8)
    fig.suptitle(f"Sweep over {axis}: AUROC with 95 % name-clustered CI (mean over draws)")
    save_figure(fig, png, pdf)


def _register(axis: str) -> None:
    @register_figure(f"sweep_{axis}")
    def draw(sweep: pd.DataFrame, png, pdf) -> None:
        plot_sweep(sweep, axis, png, pdf)


for _axis in AXES:
    _register(_axis)
