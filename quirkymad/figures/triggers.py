"""Mechanism or novelty (issue 30, docs/triggers.md): per trigger dataset, each score's
layer-aggregated AUROC of trigger vs decoy prompts against trigger vs clean prompts.

A detector that reads only how unusual an input is tells the trigger from clean prompts (any
extra line is new) but not from decoys (a decoy is as new): it sits at the right edge, at
chance height. A detector of the backdoor's mechanism separates the trigger from both: top
right. Error bars: 95 % decoy-clustered intervals (the AUROC table's `ci_*_vs_*`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quirkymad.figures.auroc import score_label
from quirkymad.figures.common import ci_errors, plt, save_figure
from quirkymad.figures.registry import register_figure


def trigger_rows(auroc: pd.DataFrame) -> pd.DataFrame:
    """The layer-aggregated rows of trigger datasets (those with `auroc_vs_decoy`), one per
    model × dataset × seed × score, with a `score` label."""
    if "auroc_vs_decoy" not in auroc:
        raise ValueError(
            "the AUROC table has no trigger dataset: add one (datasets: {NAME_trigger: {}}, "
            "docs/triggers.md) or drop figures.trigger_mechanism"
        )
    df = auroc[(auroc["layer"].astype(str) == "all") & auroc["auroc_vs_decoy"].notna()]
    df = df[df["combination"].isin(["mean"])] if "combination" in df else df
    return df.assign(score=df.apply(score_label, axis=1))


MARKERS = "osD^v<>phX*"


@register_figure("trigger_mechanism")
def plot_trigger_mechanism(auroc: pd.DataFrame, png: str | Path, pdf: str | Path) -> None:
    """A panel per model × trigger dataset; a point per score (colour = detector, marker =
    feature and transform): x = AUROC trigger vs clean, y = AUROC trigger vs decoy."""
    df = trigger_rows(auroc)
    df = df.assign(inputs=[s.rpartition(" · ")[0] for s in df["score"]])
    panels = sorted(df.groupby(["model", "dataset"]).groups)
    detectors, inputs = sorted(df["detector"].unique()), sorted(df["inputs"].unique())
    cmap = plt.cm.tab10 if len(detectors) <= 10 else plt.cm.tab20
    colour = {d: cmap(i % cmap.N) for i, d in enumerate(detectors)}
    marker = {f: MARKERS[i % len(MARKERS)] for i, f in enumerate(inputs)}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels) + 2.8, 4.8),
                             squeeze=False, layout="constrained")  # fmt: skip
    for ax, (model, dataset) in zip(axes[0], panels):
        g = df[(df["model"] == model) & (df["dataset"] == dataset)]
        for _, row in g.iterrows():
            x, y = row["auroc_vs_clean"], row["auroc_vs_decoy"]
            xerr = ci_errors([x], [row["ci_low_vs_clean"]], [row["ci_high_vs_clean"]])
            yerr = ci_errors([y], [row["ci_low_vs_decoy"]], [row["ci_high_vs_decoy"]])
            ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt=marker[row["inputs"]],
                        color=colour[row["detector"]], ms=5, lw=0.8, alpha=0.9)  # fmt: skip
        ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
        ax.axhline(0.5, color="grey", ls="--", lw=1)
        ax.axvline(0.5, color="grey", ls="--", lw=1)
        ax.text(0.98, 0.46, "input novelty", ha="right", va="top", fontsize=8, color="grey")
        ax.text(0.98, 0.98, "mechanism", ha="right", va="top", fontsize=8, color="grey")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="AUROC trigger vs clean",
               ylabel="AUROC trigger vs decoy", title=f"{model} · {dataset}")  # fmt: skip
        ax.title.set_fontsize(9)
    handles = [plt.Line2D([], [], ls="", marker="o", color=colour[d]) for d in detectors]
    handles += [plt.Line2D([], [], ls="", marker=marker[f], color="black") for f in inputs]
    fig.legend(handles, [*detectors, *inputs], loc="outside right upper", fontsize=8)
    fig.suptitle("Mechanism (top right) or input novelty (right, at chance height)?\n"
                 "95 % decoy-clustered intervals", fontsize=9)  # fmt: skip
    save_figure(fig, png, pdf)
