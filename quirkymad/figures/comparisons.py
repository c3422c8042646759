"""Forest plot of the paired comparisons (results/tables/comparisons.csv; issue 18).

One row per pair × dataset, a panel per model: Δ = AUROC(a) − AUROC(b) with its paired
name-clustered 95 % interval, 0 dashed; filled markers where the pair's p_value < SIGNIFICANT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.figures.auroc import SIGNIFICANT
from quirkymad.figures.common import ci_errors, plt, save_figure
from quirkymad.figures.registry import register_figure


@register_figure("comparisons_forest")
def plot_comparisons_forest(comparisons: pd.DataFrame, png: str | Path, pdf: str | Path) -> None:
    """Forest plot: a row per pair × dataset, a panel per model."""
    if comparisons.empty:
        raise ValueError("the comparisons table is empty: no pair of `comparisons:` was scored")
    df = comparisons.sort_values(["pair", "dataset"])
    models = sorted(df["model"].unique())
    keys = list(dict.fromkeys(zip(df["pair"], df["dataset"])))
    datasets = sorted(df["dataset"].unique())
    colors = dict(zip(datasets, plt.cm.tab10.colors * 2))
    fig, axes = plt.subplots(
        1, len(models), figsize=(4.8 * len(models) + 2.2, 0.28 * len(keys) + 1.4),
        squeeze=False, sharey=True, layout="constrained",
    )  # fmt: skip
    y_of = {k: len(keys) - 1 - i for i, k in enumerate(keys)}
    for ax, model in zip(axes[0], models):
        g = df[df["model"] == model]
        for dataset, d in g.groupby("dataset"):
            y = np.array([y_of[(p, dataset)] for p in d["pair"]])
            sig = (d["p_value"] < SIGNIFICANT).to_numpy()
            c = colors[dataset]
            ax.errorbar(d["diff"], y, xerr=ci_errors(d["diff"], d["ci_low"], d["ci_high"]),
                        fmt="none", ecolor=c, lw=1, capsize=2)  # fmt: skip
            ax.scatter(d["diff"][sig], y[sig], color=c, zorder=3, s=22, label=dataset)
            ax.scatter(d["diff"][~sig], y[~sig], facecolors="white", edgecolors=c, zorder=3, s=22)
        ax.axvline(0, ls="--", color="grey", lw=1)
        ax.set_title(model)
        ax.set_xlabel("Δ AUROC (a − b)")
    axes[0][0].set_yticks(list(y_of.values()), [f"{p} · {d}" for p, d in y_of], fontsize=8)
    handles = [plt.Line2D([], [], marker="o", ls="", color=colors[d]) for d in datasets]
    fig.legend(handles, datasets, loc="outside lower center", ncols=6, title="dataset", fontsize=8)
    fig.suptitle(f"Paired comparisons: Δ AUROC with 95 % paired name-clustered CI "
                 f"(filled: p < {SIGNIFICANT})")  # fmt: skip
    save_figure(fig, png, pdf)
