"""The controls figure (issue 28, item 2; results/tables/controls.csv, docs/statistics.md).

A panel per model × dataset, a row per score (feature · transform · detector): its
layer-aggregated AUROC (black; filled where p_chance_gender < SIGNIFICANT, i.e. it beats
re-splitting the names within gender), the AUROC within male names (blue) and within female
names (red), and the base model's (grey, the negative control), each with its 95 %
name-clustered interval. Dotted line and band: the AUROC of the name-gender-only score and its
interval (the confound's own strength on that test mix); dashed: chance. With several seeds
each seed's row is drawn at the same place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.figures.auroc import SIGNIFICANT, score_label
from quirkymad.figures.common import ci_errors, plt, save_figure
from quirkymad.figures.registry import register_figure

# (column prefix, legend label, colour, marker, vertical offset within a score's row)
SERIES = (
    ("", "fine-tuned, all names", "black", "o", 0.0),
    ("_male", "within male names", "tab:blue", "^", 0.2),
    ("_female", "within female names", "tab:red", "v", -0.2),
    ("_base", "base model (negative control)", "grey", "s", -0.4),
)


def _columns(prefix: str) -> tuple[str, str, str]:
    """(AUROC, interval low, interval high) columns of a series."""
    if prefix == "_base":
        return "auroc_base", "ci_low_name_base", "ci_high_name_base"
    return f"auroc{prefix}", f"ci_low_name{prefix}", f"ci_high_name{prefix}"


def _panel(ax, g: pd.DataFrame, y_of: dict[str, int]) -> None:
    y = np.array([y_of[s] for s in g["score"]], dtype=float)
    for prefix, _, color, marker, dy in SERIES:
        a, lo, hi = (g[c].to_numpy(dtype=float) for c in _columns(prefix))
        if np.isnan(a).all():
            continue
        ax.errorbar(a, y + dy, xerr=ci_errors(a, lo, hi), fmt="none", ecolor=color, lw=1)
        filled = (g["p_chance_gender"] < SIGNIFICANT).to_numpy() if not prefix else True
        face = np.where(filled, color, "white") if not prefix else color
        ax.scatter(a, y + dy, marker=marker, c=face, edgecolors=color, s=24, zorder=3)
    only = g.iloc[0]
    ax.axvspan(only["ci_low_name_gender_only"], only["ci_high_name_gender_only"], color="gold",
               alpha=0.25, lw=0)  # fmt: skip
    ax.axvline(only["auroc_gender_only"], color="goldenrod", ls=":", lw=1.5)
    ax.axvline(0.5, color="grey", ls="--", lw=1)
    ax.set_xlim(0, 1)


@register_figure("controls")
def plot_controls(controls: pd.DataFrame, png: str | Path, pdf: str | Path) -> None:
    """Controls of every aggregated AUROC: a panel per model × dataset, a row per score."""
    if controls.empty:
        raise ValueError("the controls table is empty: no scoring job in this run")
    df = controls.assign(score=controls.apply(score_label, axis=1))
    panels = sorted(df.groupby(["model", "dataset"]).groups)
    scores = sorted(df["score"].unique())
    y_of = {s: len(scores) - 1 - i for i, s in enumerate(scores)}
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.2 * len(panels) + 2.6, 0.45 * len(scores) + 1.8),
        squeeze=False, sharey=True, layout="constrained",
    )  # fmt: skip
    for ax, (model, dataset) in zip(axes[0], panels):
        _panel(ax, df[(df["model"] == model) & (df["dataset"] == dataset)], y_of)
        ax.set_title(f"{model} · {dataset}", fontsize=9)
        ax.set_xlabel("AUROC")
    axes[0][0].set_yticks(list(y_of.values()), list(y_of), fontsize=8)
    handles = [plt.Line2D([], [], marker=m, ls="", color=c) for _, _, c, m, _ in SERIES]
    handles.append(plt.Line2D([], [], ls=":", color="goldenrod"))
    labels = [label for _, label, *_ in SERIES] + ["name gender only"]
    fig.legend(handles, labels, loc="outside lower center", ncols=5, fontsize=8)
    fig.suptitle(f"Controls: 95 % name-clustered CIs; black filled: p_chance_gender < "
                 f"{SIGNIFICANT} (names re-split within gender)", fontsize=10)  # fmt: skip
    save_figure(fig, png, pdf)
