"""Follow-up Figures 11–14: detection and logit behaviour against hidden-state separation.

Inputs are the long tables the workflow writes: `auroc` (results/tables/auroc.parquet),
`per_layer` and `summary` separation tables (results/tables/separation_*.parquet).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.analysis.separation import r_squared
from quirkymad.figures.common import plt, run_keys, save_figure
from quirkymad.figures.registry import register_figure


def _r2_label(x: np.ndarray, y: np.ndarray) -> str:
    r2, r2_log = r_squared(x, y), r_squared(np.log10(x), y)
    if np.isnan(r2):
        return f"R² n/a (n = {np.isfinite(x).sum()} points)"
    return f"R² = {r2:.2f} (vs log10 S: {r2_log:.2f}), n = {len(x)}"


def _scatter(ax, df: pd.DataFrame, x: str, y: str, hue: str = "dataset") -> None:
    markers = dict(zip(sorted(df["model"].unique()), "osD^v<>"))
    for (key, model), g in df.groupby([hue, "model"], sort=True):
        ax.scatter(g[x], g[y], s=18, marker=markers[model], label=f"{key} · {model}", alpha=0.8)
    ax.set_xscale("log")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(_r2_label(df[x].to_numpy(), df[y].to_numpy()), fontsize=9)


def _figure(title: str):
    fig, ax = plt.subplots(figsize=(6.2, 4.4), layout="constrained")
    fig.suptitle(title)
    return fig, ax


@register_figure("auroc_vs_separation")
def plot_auroc_vs_separation(auroc, per_layer, png: str | Path, pdf: str | Path) -> None:
    """Fig. 11: per-layer AUROC (activations, Mahalanobis) vs S_i; point per model × dataset
    × layer."""
    a = auroc[(auroc["feature"] == "activations") & (auroc["transform"] == "none")
              & (auroc["detector"] == "mahalanobis") & (auroc["layer"] != "all")].copy()  # fmt: skip
    a["layer"] = a["layer"].astype(int)
    df = a.merge(per_layer, on=run_keys(["model", "dataset", "layer"], a, per_layer))
    if df.empty:
        raise ValueError("no activations/Mahalanobis AUROC rows match the separation table")
    fig, ax = _figure("AUROC vs hidden-state separation (activations, Mahalanobis)")
    _scatter(ax, df, "S", "auroc")
    ax.axhline(0.5, ls="--", color="grey", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("hidden-state separation S_i = ‖μ_A − μ_B‖² / Tr Σ_i (log scale)")
    ax.set_ylabel("AUROC at layer i")
    save_figure(fig, png, pdf)


@register_figure("logit_separation_vs_separation")
def plot_logit_separation_vs_separation(per_layer, summary, png, pdf) -> None:
    """Fig. 12: logit separation of the (model, dataset) vs S_i of each layer."""
    df = per_layer.merge(summary, on=run_keys(["model", "dataset"], per_layer, summary))
    fig, ax = _figure("Logit separation vs hidden-state separation (per layer)")
    _scatter(ax, df, "S", "logit_separation")
    ax.set_xlabel("hidden-state separation S_i (log scale)")
    ax.set_ylabel("logit separation (S of ℓ = logit Yes − logit No)")
    save_figure(fig, png, pdf)


def _vs_layer_mean(summary, y: str, ylabel: str, title: str, png, pdf) -> None:
    fig, ax = _figure(title)
    _scatter(ax, summary, "S_layer_mean", y)
    ax.set_xlabel("layer-averaged separation S (geometric mean over layers, log scale)")
    ax.set_ylabel(ylabel)
    save_figure(fig, png, pdf)


@register_figure("logit_variance_vs_separation")
def plot_logit_variance_vs_separation(summary, png, pdf) -> None:
    """Fig. 13: pooled variance of ℓ vs layer-averaged S; point per model × dataset."""
    _vs_layer_mean(summary, "logit_variance", "logit variance Var(ℓ) (nats²)",
                   "Logit variance vs layer-averaged separation", png, pdf)  # fmt: skip


@register_figure("ab_logit_separation_vs_separation")
def plot_ab_logit_separation_vs_separation(summary, png, pdf) -> None:
    """Fig. 14: (mean_A ℓ − mean_B ℓ)² vs layer-averaged S; point per model × dataset."""
    _vs_layer_mean(summary, "ab_logit_separation", "Alice–Bob logit separation (nats²)",
                   "Alice–Bob logit separation vs layer-averaged separation", png, pdf)  # fmt: skip
