"""The explanation figure (issue 21): for one model × dataset, the best layer's top
directions by excess score, with the mean share of the score they carry on anomalous (Bob)
and normal (Alice) test records, annotated with their cosine with the Alice–Bob direction and
the tokens their logit lens promotes; beside it, each layer's part of the aggregated score's
excess. Not in the FIGURES registry: one figure per model × dataset, drawn by the
`plot_explanation` rule from an `explain_scores` job's directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.figures.common import plt, save_figure
from quirkymad.tables import AUROC_FILE

N_SHOWN = 6


def best_layer(auroc: pd.DataFrame, among: set[str]) -> str:
    """The layer among `among` (not `all`) with the highest AUROC."""
    per = auroc[auroc["layer"].astype(str).isin(among - {"all"})]
    return str(per.loc[per["auroc"].idxmax(), "layer"])


def _label(row: pd.Series) -> str:
    text = f"cos(A–B) {row['cos_alice_bob']:+.2f}"
    promoted = row.get("promoted")
    if promoted is not None and not (isinstance(promoted, float) and np.isnan(promoted)):
        text += "  ↑ " + " ".join(repr(t) for t in list(promoted)[:4])
    return text


def draw_explanation(explain_dir: str | Path, scores_dir: str | Path, png, pdf) -> None:
    """Read an `explain_scores` job's directions.parquet and its scoring job's AUROC table;
    draw the best explained layer (highest AUROC) and the layer aggregate."""
    dirs = pd.read_parquet(Path(explain_dir) / "directions.parquet")
    auroc = pd.read_parquet(Path(scores_dir) / AUROC_FILE)
    layer = best_layer(auroc, set(dirs["layer"]))
    value = float(auroc.loc[auroc["layer"].astype(str) == layer, "auroc"].iloc[0])
    top = dirs[dirs["layer"] == layer].sort_values("excess_rank").head(N_SHOWN)
    agg = dirs[dirs["layer"] == "all"].copy()
    agg["ell"] = agg["component"].str.removeprefix("layer ").astype(int)
    agg = agg.sort_values("ell")
    first = dirs.iloc[0]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 0.55 * len(top) + 2.2),
                                  gridspec_kw={"width_ratios": [2.2, 1]})  # fmt: skip
    y = np.arange(len(top))
    ax.barh(y - 0.2, top["share_anomalous"], 0.4, label="anomalous (Bob)", color="C3")
    ax.barh(y + 0.2, top["share_normal"], 0.4, label="normal (Alice)", color="C0")
    ax.set_yticks(y, top["component"])
    ax.invert_yaxis()
    ax.set_xlabel("mean share of the record's score")
    right = float(np.nanmax([top["share_anomalous"].max(), top["share_normal"].max(), 0.01]))
    for yi, (_, row) in zip(y, top.iterrows()):
        ax.text(right * 1.03, yi, _label(row), va="center", fontsize=7)
    ax.set_xlim(min(0.0, float(top[["share_anomalous", "share_normal"]].min().min())),
                right * 2.4)  # fmt: skip
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"layer {layer} (best AUROC {value:.2f}): top directions by excess score",
                 fontsize=9)  # fmt: skip
    ax2.bar(agg["ell"], agg["excess"], color="C2")
    ax2.axhline(0, color="k", lw=0.5)
    ax2.set_xlabel("layer")
    ax2.set_ylabel("excess of the aggregated score (Bob − Alice)")
    ax2.set_title("each layer's part of the aggregate", fontsize=9)
    fig.suptitle(f"{first['model']} / {first['dataset']}: {first['feature']}, "
                 f"{first['transform']}, {first['detector']}", fontsize=10)  # fmt: skip
    fig.tight_layout()
    save_figure(fig, png, pdf)
