"""Follow-up Figures 1–4: AUROC per layer and layer-aggregated, online and offline.

A *score* is one (feature, transform, detector) combination, e.g. "activations · mahalanobis"
or "activations → flow · flow_prior". Per-layer figures: a panel per model × score, a line per
dataset with its 95 % name-clustered bootstrap band, chance dashed, filled markers where
p_chance < SIGNIFICANT (hollow: not distinguishable from a random re-split of the names).
Aggregated figures: bars per score, hue = dataset, a panel per model (models side by side), with
the name-clustered interval as error bars and `*` above bars with p_chance < SIGNIFICANT
(docs/statistics.md; unadjusted for the number of bars).

With several replicate seeds (config `seeds`, issue 18) each line / bar is the mean over the
seeds, the band / error bar is the range (min–max) over the seeds, each seed's aggregated AUROC
is a dot on its bar, and a point counts as significant only if p_chance < SIGNIFICANT for every
seed. With one seed the figures are as above.

A dataset whose fine-tune is flagged not quirky (column `quirky`, quirkymad/finetune/acceptance.py) is
labelled "(not quirky)" in the legend, its lines dashed and its bars hatched (issue 28).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.figures.common import ci_errors, plt, save_figure
from quirkymad.figures.registry import register_figure

# Level at which the figures mark an AUROC as distinguishable from chance (p_chance column).
SIGNIFICANT = 0.05


def score_label(row) -> str:
    """Human-readable name of a (feature, transform, detector) score."""
    feature = (
        row["feature"] if row["transform"] == "none" else f"{row['feature']} → {row['transform']}"
    )
    return f"{feature} · {row['detector']}"


def _select(auroc: pd.DataFrame, setting: str) -> pd.DataFrame:
    df = auroc[auroc["setting"] == setting].copy()
    if df.empty:
        raise ValueError(
            f"the AUROC table has no {setting} rows: enable an {setting} detector in the config "
            f"or drop this figure"
        )
    df["score"] = df.apply(score_label, axis=1)
    return df


def n_seeds(df: pd.DataFrame) -> int:
    return int(df["seed"].nunique()) if "seed" in df else 1


def over_seeds(df: pd.DataFrame) -> pd.DataFrame:
    """One row per model × score × dataset × layer with what the figures draw: `auroc`, the
    band `lo`–`hi` and `p_chance`. One seed: the row's AUROC, its name-clustered interval and
    p_chance. Several: the mean over seeds, the range over seeds, the largest p_chance (a
    point is significant only if it is for every seed), and `seed_aurocs` (each seed's)."""
    if n_seeds(df) <= 1:
        return df.assign(lo=df["ci_low_name"], hi=df["ci_high_name"])
    key = ["model", "score", "dataset", "layer"]
    g = df.groupby(key, sort=False)
    out = g.agg(auroc=("auroc", "mean"), lo=("auroc", "min"), hi=("auroc", "max"),
                p_chance=("p_chance", "max")).reset_index()  # fmt: skip
    return out.merge(g["auroc"].agg(list).rename("seed_aurocs").reset_index(), on=key)


def not_quirky(df: pd.DataFrame) -> set[tuple[str, str]]:
    """(model, dataset) pairs with a fine-tune (any seed) flagged not quirky (column `quirky`,
    quirkymad/finetune/acceptance.py; issue 28): drawn dashed / hatched and labelled "not quirky"."""
    if "quirky" not in df:
        return set()
    bad = df[df["quirky"].astype("boolean").eq(False).fillna(False)]
    return set(zip(bad["model"], bad["dataset"]))


def _label(dataset: str, bad: set[tuple[str, str]]) -> str:
    return f"{dataset} (not quirky)" if any(d == dataset for _, d in bad) else dataset


def plot_per_layer(auroc: pd.DataFrame, setting: str, png: str | Path, pdf: str | Path) -> None:
    df = _select(auroc, setting)
    seeds, bad = n_seeds(df), not_quirky(df)
    df = over_seeds(df[df["layer"] != "all"]).assign(layer_num=lambda d: d["layer"].astype(int))
    panels = sorted(df.groupby(["model", "score"]).groups)
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(max(6.5, 4.2 * ncols), 3.4 * nrows + 0.6), squeeze=False, sharey=True,
        layout="constrained",
    )  # fmt: skip
    datasets = sorted(df["dataset"].unique())
    colors = dict(zip(datasets, plt.cm.tab10.colors * 2))
    # One layer axis per model, so a transform read at two layers sits where those layers are
    # on the raw-activation panels instead of stretching across the panel.
    span = df.groupby("model")["layer_num"].agg(["min", "max"])
    for ax, (model, score) in zip(axes.flat, panels):
        g = df[(df["model"] == model) & (df["score"] == score)]
        for dataset, line in g.groupby("dataset", sort=True):
            line = line.sort_values("layer_num")
            c = colors[dataset]
            ms = 2.5 if len(line) > 3 else 5
            ax.plot(line["layer_num"], line["auroc"], color=c, label=_label(dataset, bad),
                    ls="--" if (model, dataset) in bad else "-")  # fmt: skip
            sig = line["p_chance"] < SIGNIFICANT
            ax.scatter(line["layer_num"][sig], line["auroc"][sig], s=ms**2 * 2, color=c, zorder=3)
            ax.scatter(line["layer_num"][~sig], line["auroc"][~sig], s=ms**2 * 2, zorder=3,
                       facecolors="white", edgecolors=c, linewidths=0.8)  # fmt: skip
            ax.fill_between(line["layer_num"], line["lo"], line["hi"], color=c, alpha=0.15)
        ax.axhline(0.5, ls="--", color="grey", lw=1)
        ax.set_ylim(0, 1.02)
        lo, hi = span.loc[model, "min"], span.loc[model, "max"]
        ax.set_xlim(lo - 0.5, hi + 0.5)
        ax.set_title(f"{model}\n{score}", fontsize=9)
        ax.set_xlabel("layer")
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel("AUROC (Bob-hard vs Alice-hard)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, title="dataset", fontsize=8)
    if seeds > 1:
        title = (f"mean over {seeds} seeds (bands: range over seeds; filled: p_chance < "
                 f"{SIGNIFICANT} for every seed)")  # fmt: skip
    else:
        title = f"bands: 95 % name-clustered CI; filled: p_chance < {SIGNIFICANT}"
    fig.suptitle(f"{setting.capitalize()} detectors: AUROC per layer ({title})")
    save_figure(fig, png, pdf)


def _panel_width(n_scores: int, n_datasets: int) -> float:
    """Inches per model panel: grows with the bars, capped so a full run's 16+ scores stay
    readable on a page (labels are rotated)."""
    return min(13.0, max(5.0, 0.45 * n_scores * n_datasets**0.5 + 2))


def plot_aggregated(auroc: pd.DataFrame, setting: str, png: str | Path, pdf: str | Path) -> None:
    df = _select(auroc, setting)
    seeds, bad = n_seeds(df), not_quirky(df)
    df = over_seeds(df[df["layer"] == "all"])
    models = sorted(df["model"].unique())
    scores = sorted(df["score"].unique())
    datasets = sorted(df["dataset"].unique())
    width = 0.8 / len(datasets)
    fig, axes = plt.subplots(
        1, len(models), figsize=(_panel_width(len(scores), len(datasets)) * len(models), 4.8),
        squeeze=False, sharey=True, layout="constrained",
    )  # fmt: skip
    colors = dict(zip(datasets, plt.cm.tab10.colors * 2))
    for ax, model in zip(axes[0], models):
        g = df[df["model"] == model].set_index(["score", "dataset"])
        x = np.arange(len(scores))
        for i, dataset in enumerate(datasets):
            rows = [g.loc[(s, dataset)] if (s, dataset) in g.index else None for s in scores]
            y = np.array([r["auroc"] if r is not None else np.nan for r in rows])
            lo = np.array([r["auroc"] - r["lo"] if r is not None else 0 for r in rows])
            hi = np.array([r["hi"] - r["auroc"] if r is not None else 0 for r in rows])
            p = np.array([r["p_chance"] if r is not None else np.nan for r in rows])
            yerr = ci_errors(y, y - lo, y + hi)
            xs = x + (i - (len(datasets) - 1) / 2) * width
            ax.bar(xs, y, width, yerr=yerr, color=colors[dataset], label=_label(dataset, bad),
                   hatch="//" if (model, dataset) in bad else None, edgecolor="white",
                   capsize=2, error_kw={"lw": 0.8})  # fmt: skip
            if seeds > 1:  # each seed's AUROC on its bar
                for xi, r in zip(xs, rows):
                    if r is not None:
                        ax.scatter([xi] * len(r["seed_aurocs"]), r["seed_aurocs"], s=6,
                                   color="black", zorder=3, linewidths=0)  # fmt: skip
            for xi, top, pi in zip(xs, y + np.nan_to_num(hi), p):
                if pi < SIGNIFICANT:
                    ax.text(xi, min(top, 1.0) + 0.01, "*", ha="center", va="bottom", fontsize=9)
        ax.axhline(0.5, ls="--", color="grey", lw=1)
        ax.set_xticks(x, scores, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(model)
    axes[0][0].set_ylabel("layer-aggregated AUROC")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, title="dataset", fontsize=8)
    if seeds > 1:
        title = (f"mean over {seeds} seeds, dots: each seed, error bars: range over seeds; "
                 f"*: p_chance < {SIGNIFICANT} for every seed")  # fmt: skip
    else:
        title = f"error bars: 95 % name-clustered CI; *: p_chance < {SIGNIFICANT}"
    fig.suptitle(f"{setting.capitalize()} detectors: layer-aggregated AUROC ({title})")
    save_figure(fig, png, pdf)


@register_figure("online_auroc_per_layer")
def plot_online_per_layer(auroc: pd.DataFrame, png, pdf) -> None:
    """Fig. 1: online AUROC vs layer, a panel per model × score, a line per dataset."""
    plot_per_layer(auroc, "online", png, pdf)


@register_figure("online_auroc_aggregated")
def plot_online_aggregated(auroc: pd.DataFrame, png, pdf) -> None:
    """Fig. 2: online layer-aggregated AUROC, bars per score, hue dataset, models side by side."""
    plot_aggregated(auroc, "online", png, pdf)


@register_figure("offline_auroc_per_layer")
def plot_offline_per_layer(auroc: pd.DataFrame, png, pdf) -> None:
    """Fig. 3: the offline detectors (QUE) per layer."""
    plot_per_layer(auroc, "offline", png, pdf)


@register_figure("offline_auroc_aggregated")
def plot_offline_aggregated(auroc: pd.DataFrame, png, pdf) -> None:
    """Fig. 4: the offline detectors (QUE), layer-aggregated."""
    plot_aggregated(auroc, "offline", png, pdf)
