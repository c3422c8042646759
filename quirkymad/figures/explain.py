"""The explanation figure (issue 21; catalogue entry `explanations`): one row of panels per
model × dataset. Left: at the explained layer with the best AUROC of activations ×
Mahalanobis, the top directions by excess score with the mean share of the score they carry
on anomalous (Bob) and normal (Alice) records, labelled with their cosine with the Alice–Bob
direction and the tokens their logit lens promotes. Right: each layer's part of the
aggregated score's excess (Bob mean − Alice mean)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quirkymad.figures.common import plt, save_figure
from quirkymad.figures.registry import register_figure

N_SHOWN = 5
JOB = {"feature": "activations", "transform": "none", "detector": "mahalanobis"}


def best_layer(auroc: pd.DataFrame, among: set[str]) -> tuple[str, float]:
    """The layer among `among` (not `all`) with the highest AUROC, and that AUROC."""
    per = auroc[auroc["layer"].astype(str).isin(among - {"all"})]
    row = per.loc[per["auroc"].idxmax()]
    return str(row["layer"]), float(row["auroc"])


def _label(row: pd.Series) -> str:
    text = f"cos(A–B) {row['cos_alice_bob']:+.2f}"
    promoted = row.get("promoted")
    if isinstance(promoted, list | np.ndarray) and len(promoted):
        text += "  ↑ " + " ".join(repr(str(t)) for t in list(promoted)[:4])
    return text


def _select(df: pd.DataFrame) -> pd.DataFrame:
    keep = np.ones(len(df), dtype=bool)
    for key, value in JOB.items():
        if key in df:
            keep &= df[key].to_numpy() == value
    return df[keep]


def _directions_panel(ax, top: pd.DataFrame, title: str) -> None:
    y = np.arange(len(top))
    ax.barh(y - 0.2, top["share_anomalous"], 0.4, label="anomalous (Bob)", color="C3")
    ax.barh(y + 0.2, top["share_normal"], 0.4, label="normal (Alice)", color="C0")
    ax.set_yticks(y, top["component"])
    ax.invert_yaxis()
    ax.set_xlabel("mean share of a record's score")
    shares = top[["share_anomalous", "share_normal"]].to_numpy(dtype=float)
    right = float(np.nanmax([np.nanmax(shares), 0.01]))
    for yi, (_, row) in zip(y, top.iterrows()):
        ax.text(right * 1.03, yi, _label(row), va="center", fontsize=7)
    ax.set_xlim(min(0.0, float(np.nanmin(shares))), right * 2.2)
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title(title, fontsize=9)


@register_figure("explanations")
def plot_explanations(directions: pd.DataFrame, auroc: pd.DataFrame, png, pdf) -> None:
    dirs, auroc = _select(directions), _select(auroc)
    if "seed" in dirs and dirs["seed"].nunique() > 1:  # replicate seeds: the first one's
        seed = dirs["seed"].iloc[0]
        dirs = dirs[dirs["seed"] == seed]
        auroc = auroc[auroc["seed"] == seed] if "seed" in auroc else auroc
    pairs = list(dirs.groupby(["model", "dataset"], sort=True).groups)
    if not pairs:
        raise ValueError("no explanations of activations/none/mahalanobis to draw")
    fig, axes = plt.subplots(len(pairs), 2, figsize=(13, 3.3 * len(pairs)), squeeze=False,
                             gridspec_kw={"width_ratios": [2.3, 1]})  # fmt: skip
    for (model, dataset), (ax, ax2) in zip(pairs, axes):
        d = dirs[(dirs["model"] == model) & (dirs["dataset"] == dataset)]
        a = auroc[(auroc["model"] == model) & (auroc["dataset"] == dataset)]
        layer, value = best_layer(a, set(d["layer"]))
        top = d[d["layer"] == layer].sort_values("excess_rank").head(N_SHOWN)
        _directions_panel(ax, top, f"{model} / {dataset}, layer {layer} (best AUROC "
                                   f"{value:.2f}): top directions by excess score")  # fmt: skip
        agg = d[d["layer"] == "all"].copy()
        agg["ell"] = agg["component"].str.removeprefix("layer ").astype(int)
        agg = agg.sort_values("ell")
        ax2.bar(agg["ell"], agg["excess"], color="C2")
        ax2.axhline(0, color="k", lw=0.5)
        ax2.set_xlabel("layer")
        ax2.set_ylabel("excess (Bob − Alice)")
        ax2.set_title("each layer's part of the aggregated score", fontsize=9)
    fig.suptitle("Why Bob is flagged: activations, Mahalanobis (explain_scores)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, png, pdf)
