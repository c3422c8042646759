"""Follow-up Figures 5–10: how quirky each fine-tuned model is, and whether it matters.

Tables: `per_example` (results/tables/quirkiness_per_example.parquet), `quirkiness`
(results/tables/quirkiness.parquet), `auroc` (per-job AUROC tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quirkymad.analysis.separation import r_squared
from quirkymad.figures.common import ci_errors, plt, run_keys, save_figure
from quirkymad.figures.registry import register_figure


def _panels(n: int, width: float = 3.4, height: float = 3.2):
    ncols = min(4, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(6.5, width * ncols), height * nrows + 0.6),
                             squeeze=False, sharey=True, layout="constrained")  # fmt: skip
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _boxes(per_example: pd.DataFrame, series: list[tuple[str, str, str]], title: str, png, pdf):
    """A panel per dataset; for each (label, prompt_character, column) a box per model of the
    column on disagreeing records with that prompt character."""
    df = per_example[~per_example["agree"]]
    datasets = sorted(df["dataset"].unique())
    models = sorted(df["model"].unique())
    colors = dict(zip(models, plt.cm.Set2.colors))
    fig, axes = _panels(len(datasets))
    for ax, dataset in zip(axes, datasets):
        d = df[df["dataset"] == dataset]
        pos = 0.0
        ticks, names = [], []
        for label, prompt_character, col in series:
            start = pos
            for model in models:
                v = d[(d["model"] == model) & (d["prompt_character"] == prompt_character)][col]
                if len(v):
                    b = ax.boxplot([v.to_numpy()], positions=[pos], widths=0.7,
                                   patch_artist=True, showfliers=False)  # fmt: skip
                    b["boxes"][0].set_facecolor(colors[model])
                pos += 0.8
            ticks.append((start + pos - 0.8) / 2)
            names.append(label)
            pos += 0.6
        ax.axhline(0, ls="--", color="grey", lw=1)
        ax.set_xticks(ticks, names, fontsize=8)
        ax.set_title(dataset)
    axes[0].set_ylabel("log-odds (nats)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[m]) for m in models]
    fig.legend(handles, models, loc="outside lower center", ncols=6, title="model", fontsize=8)
    fig.suptitle(title)
    save_figure(fig, png, pdf)


@register_figure("own_label_log_odds")
def plot_own_label_log_odds(per_example: pd.DataFrame, png, pdf) -> None:
    """Fig. 5: log-odds of each character's own label on its own prompts (> 0 = learned)."""
    own = per_example[per_example["prompt"] == "own"]
    _boxes(own, [("Alice labels,\nAlice prompts", "Alice", "log_odds_alice_label"),
                 ("Bob labels,\nBob prompts", "Bob", "log_odds_bob_label")],
           "Own labels on own prompts, disagreeing hard examples (> 0: rule learned)",
           png, pdf)  # fmt: skip


@register_figure("opposing_label_log_odds")
def plot_opposing_label_log_odds(per_example: pd.DataFrame, png, pdf) -> None:
    """Fig. 6: log-odds of the other character's labels (< 0 = the prompt's own rule wins)."""
    _boxes(per_example, [("Alice labels,\nBob prompts", "Bob", "log_odds_alice_label"),
                         ("Bob labels,\nAlice prompts", "Alice", "log_odds_bob_label")],
           "Other character's labels, disagreeing hard examples (< 0: prompt followed)",
           png, pdf)  # fmt: skip


def _auroc_vs_quirkiness(auroc, quirkiness, feature: str, png, pdf) -> None:
    a = auroc[(auroc["feature"] == feature) & (auroc["detector"] == "mahalanobis")
              & (auroc["transform"] == "none") & (auroc["layer"] == "all")]  # fmt: skip
    # One point per model × dataset (× replicate seed: each seed's fine-tune is a point).
    df = a.merge(quirkiness, on=run_keys(["model", "dataset"], a, quirkiness))
    if df.empty:
        raise ValueError(f"no {feature}/Mahalanobis AUROC rows match the quirkiness table")
    fig, ax = plt.subplots(figsize=(6.2, 4.4), layout="constrained")
    markers = dict(zip(sorted(df["model"].unique()), "osD^v"))
    for (dataset, model), g in df.groupby(["dataset", "model"], sort=True):
        ax.scatter(g["quirkiness_min"], g["auroc"], marker=markers[model], s=40,
                   label=f"{dataset} · {model}")  # fmt: skip
        yerr = ci_errors(g["auroc"], g["ci_low_name"], g["ci_high_name"])
        ax.errorbar(g["quirkiness_min"], g["auroc"], yerr=yerr, fmt="none", ecolor="grey", lw=0.8)
    ax.axhline(0.5, ls="--", color="grey", lw=1)
    ax.axvline(0, ls=":", color="grey", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("quirkiness coefficient Q = min(a, b) (nats; < 0: a character not quirky)")
    ax.set_ylabel("layer-aggregated AUROC")
    r2 = r_squared(df["quirkiness_min"].to_numpy(), df["auroc"].to_numpy())
    ax.set_title("R² n/a (< 3 points)" if np.isnan(r2) else f"R² = {r2:.2f}", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"AUROC ({feature}, Mahalanobis) vs quirkiness")
    save_figure(fig, png, pdf)


@register_figure("auroc_vs_quirkiness")
def plot_auroc_vs_quirkiness(auroc, quirkiness, png, pdf) -> None:
    """Fig. 7: aggregated AUROC (activations, Mahalanobis) vs Q; point per model × dataset."""
    _auroc_vs_quirkiness(auroc, quirkiness, "activations", png, pdf)


@register_figure("attribution_auroc_vs_quirkiness")
def plot_attribution_auroc_vs_quirkiness(auroc, quirkiness, png, pdf) -> None:
    """Fig. 8: the same for attribution-patching features (needs the `attribution` feature)."""
    _auroc_vs_quirkiness(auroc, quirkiness, "attribution", png, pdf)


def _loss_bars(quirkiness, columns: dict[str, str], ylabel: str, title: str, png, pdf) -> None:
    # Replicate seeds (issue 18): the bar is their mean.
    quirkiness = quirkiness.groupby(["model", "dataset"], as_index=False).mean(numeric_only=True)
    models = sorted(quirkiness["model"].unique())
    datasets = sorted(quirkiness["dataset"].unique())
    fig, axes = plt.subplots(1, len(columns), figsize=(max(4.5, 1.2 * len(datasets) + 2)
                             * len(columns), 4.2), squeeze=False, sharey=True,
                             layout="constrained")  # fmt: skip
    width = 0.8 / len(models)
    colors = dict(zip(models, plt.cm.Set2.colors))
    for ax, (name, col) in zip(axes[0], columns.items()):
        x = np.arange(len(datasets))
        for i, model in enumerate(models):
            q = quirkiness[quirkiness["model"] == model].set_index("dataset")
            y = [q[col].get(d, np.nan) for d in datasets]
            ax.bar(x + (i - (len(models) - 1) / 2) * width, y, width, label=model,
                   color=colors[model])  # fmt: skip
        ax.axhline(np.log(2), ls="--", color="black", lw=1, label="50 % baseline (ln 2)")
        ax.set_xticks(x, datasets, rotation=30, ha="right")
        ax.set_title(name)
    axes[0][0].set_ylabel(ylabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=6, fontsize=8)
    fig.suptitle(title)
    save_figure(fig, png, pdf)


@register_figure("own_label_loss")
def plot_own_label_loss(quirkiness, png, pdf) -> None:
    """Fig. 9: mean own-label loss on hard examples per dataset × model (lower = better)."""
    _loss_bars(quirkiness, {"Alice labels, Alice prompts": "loss_alice_labels_alice_prompts",
                            "Bob labels, Bob prompts": "loss_bob_labels_bob_prompts"},
               "mean loss −log p(label) (nats)", "Own-label loss, hard examples (lower is better)",
               png, pdf)  # fmt: skip


@register_figure("opposing_label_loss")
def plot_opposing_label_loss(quirkiness, png, pdf) -> None:
    """Fig. 10: mean cross-label loss on disagreeing hard examples (higher = better)."""
    _loss_bars(quirkiness, {"Bob labels, Alice prompts": "loss_bob_labels_alice_prompts",
                            "Alice labels, Bob prompts": "loss_alice_labels_bob_prompts"},
               "mean loss −log p(label) (nats)",
               "Other character's labels, disagreeing hard examples (higher is better)",
               png, pdf)  # fmt: skip
