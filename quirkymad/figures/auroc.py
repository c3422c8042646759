"""Per-layer AUROC line plot (follow-up Figure 1 style): one panel per model × feature,
one line per (dataset, detector), chance at 0.5 dashed, 95 % bootstrap CI shaded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quirkymad.figures.common import plt, save_figure
from quirkymad.figures.registry import register_figure


@register_figure("auroc_per_layer", ("auroc",), "Online AUROC per layer")
def plot_auroc_per_layer(auroc: pd.DataFrame, png: str | Path, pdf: str | Path) -> None:
    """`auroc`: the long AUROC table (model, dataset, feature, transform, detector, layer, ...)."""
    table = auroc
    per_layer = table[table["layer"] != "all"].copy()
    if per_layer.empty:
        raise ValueError("AUROC table has no per-layer rows to plot")
    per_layer["layer_num"] = per_layer["layer"].astype(int)
    panels = list(per_layer.groupby(["model", "feature", "transform"], sort=True))
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(5.5 * len(panels), 4.4),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    for ax, ((model, feature, transform), g) in zip(axes[0], panels):
        for (dataset, detector), line in g.groupby(["dataset", "detector"], sort=True):
            line = line.sort_values("layer_num")
            agg = table[
                (table["model"] == model) & (table["feature"] == feature)
                & (table["transform"] == transform) & (table["dataset"] == dataset)
                & (table["detector"] == detector) & (table["layer"] == "all")
            ]["auroc"]  # fmt: skip
            label = f"{dataset} · {detector}"
            if len(agg):
                label += f" (all layers: {agg.iloc[0]:.2f})"
            (h,) = ax.plot(line["layer_num"], line["auroc"], marker="o", ms=3, label=label)
            ax.fill_between(
                line["layer_num"], line["ci_low"], line["ci_high"], color=h.get_color(), alpha=0.2
            )
        ax.axhline(0.5, ls="--", color="grey", lw=1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("layer (residual stream entering the block)")
        title = f"{model}\n{feature}" + ("" if transform == "none" else f" → {transform}")
        ax.set_title(title)
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("AUROC (Bob-hard vs Alice-hard)")
    fig.suptitle("Online anomaly detection per layer (shaded: 95 % bootstrap CI)")
    save_figure(fig, png, pdf)
