"""The figure catalogue: the one place a figure is declared.

For each figure: where it comes from, the tables it reads (and so the scores it needs), its
report category and its caption. The config check (`quirkymad.workflow.config`), the workflow's one
generic `plot_figure` rule (rules/figures.smk, inputs from rules/common.smk), the report and
the docs' figure table all read it. Adding a figure = one entry here + one plotting function
registered with `quirkymad.figures.register_figure(name)` whose keyword arguments are the
entry's table names (docs/figures.md, "How to add a figure").

No heavy imports: Snakemake reads this module when it plans the DAG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    """The AUROC tables of the scoring jobs of one feature and detector on untransformed
    features, over every model and dataset (each job's directory stands for its
    auroc.parquet); the figure needs that feature and detector configured."""

    feature: str
    detector: str


TableSource = str | Scores
"""What a figure's table is read from: the name of a results table
(`results/tables/{name}.parquet`) or the scores of one feature and detector."""

# Results tables that exist only when a detector of that setting is configured; all other
# results tables (quirkiness, separation) are always produced.
SETTING_TABLES = {"auroc_online": "online", "auroc_offline": "offline"}


@dataclass(frozen=True)
class FigureSpec:
    title: str
    """Where the figure comes from, e.g. "Fig. 1" (of the follow-up study)."""
    category: str
    """Report category it is listed under."""
    tables: Mapping[str, TableSource]
    """Keyword argument of the plotting function → what it is read from."""
    caption: str
    """Report caption (reStructuredText); report/figure.rst appends the run's settings."""

    @property
    def needs(self) -> tuple[str, ...]:
        """What the config must enable for the figure's inputs to exist: "online"/"offline"
        (a detector of that setting) or "feature/detector" (that pair, scored untransformed)."""
        out = []
        for source in self.tables.values():
            if isinstance(source, Scores):
                out.append(f"{source.feature}/{source.detector}")
            elif source in SETTING_TABLES:
                out.append(SETTING_TABLES[source])
        return tuple(out)


_MAHALANOBIS_ACTIVATIONS = Scores("activations", "mahalanobis")
# Figs. 1-4 with several replicate seeds (config `seeds`, issue 18).
_SEEDS_BAND = (
    " With several seeds (config seeds): the mean over seeds, bands = range over seeds, filled"
    " = p_chance < 0.05 for every seed."
)
_SEEDS_BAR = (
    " With several seeds (config seeds): the mean over seeds, dots = each seed, error bars ="
    " range over seeds, * = p_chance < 0.05 for every seed."
)

FIGURE_CATALOGUE: dict[str, FigureSpec] = {
    "online_auroc_per_layer": FigureSpec(
        "Fig. 1",
        "AUROC",
        {"auroc": "auroc_online"},
        "Follow-up Figure 1: online detectors (fitted on trusted Alice-easy examples only), AUROC"
        " per layer for telling Bob's hard test prompts (anomalous) from Alice's (normal); a"
        " panel per model x score (feature, transform, detector), a line per dataset; bands: 95 %"
        " name-clustered bootstrap interval (docs/statistics.md); filled points: p_chance < 0.05"
        " under random re-splits of the held-out names; dashed: chance." + _SEEDS_BAND,
    ),
    "online_auroc_aggregated": FigureSpec(
        "Fig. 2",
        "AUROC",
        {"auroc": "auroc_online"},
        "Follow-up Figure 2: online detectors, layer-aggregated AUROC (score = mean of the raw"
        " per-layer scores); bars per score, colour = dataset, models side by side; error bars:"
        " 95 % name-clustered bootstrap interval; *: p_chance < 0.05; dashed: chance." + _SEEDS_BAR,
    ),
    "offline_auroc_per_layer": FigureSpec(
        "Fig. 3",
        "AUROC",
        {"auroc": "auroc_offline"},
        "Follow-up Figure 3: offline detectors (QUE, which also sees the unlabelled untrusted"
        " set), AUROC per layer; a panel per model x score, a line per dataset; bands: 95 %"
        " name-clustered bootstrap interval; filled points: p_chance < 0.05." + _SEEDS_BAND,
    ),
    "offline_auroc_aggregated": FigureSpec(
        "Fig. 4",
        "AUROC",
        {"auroc": "auroc_offline"},
        "Follow-up Figure 4: offline detectors (QUE), layer-aggregated AUROC; bars per score,"
        " colour = dataset, models side by side; error bars: 95 % name-clustered bootstrap"
        " interval; *: p_chance < 0.05." + _SEEDS_BAR,
    ),
    "own_label_log_odds": FigureSpec(
        "Fig. 5",
        "Quirkiness",
        {"per_example": "quirkiness_per_example"},
        "Follow-up Figure 5: distributions of the log-odds each fine-tuned model gives the prompt"
        " character's own label on its own prompts (Alice labels on Alice prompts, Bob labels on"
        " Bob prompts), on disagreeing hard test records; a panel per dataset, colour = model."
        " Above 0: the character's rule was learned.",
    ),
    "opposing_label_log_odds": FigureSpec(
        "Fig. 6",
        "Quirkiness",
        {"per_example": "quirkiness_per_example"},
        "Follow-up Figure 6: log-odds of the other character's labels (Alice labels on Bob"
        " prompts, Bob labels on Alice prompts) on disagreeing hard test records. Below 0: the"
        " model follows the prompt's character rather than the other one.",
    ),
    "auroc_vs_quirkiness": FigureSpec(
        "Fig. 7",
        "Quirkiness",
        {"auroc": _MAHALANOBIS_ACTIVATIONS, "quirkiness": "quirkiness"},
        "Follow-up Figure 7: layer-aggregated AUROC of Mahalanobis on raw activations against"
        " the quirkiness coefficient Q = min(a, b); one point per model x dataset; error bars:"
        " 95 % name-clustered bootstrap interval.",
    ),
    "attribution_auroc_vs_quirkiness": FigureSpec(
        "Fig. 8",
        "Quirkiness",
        {"auroc": Scores("attribution", "mahalanobis"), "quirkiness": "quirkiness"},
        "Follow-up Figure 8: layer-aggregated AUROC of Mahalanobis on attribution-patching"
        " features against the quirkiness coefficient; one point per model x dataset.",
    ),
    "own_label_loss": FigureSpec(
        "Fig. 9",
        "Quirkiness",
        {"quirkiness": "quirkiness"},
        "Follow-up Figure 9: mean loss of the own labels on hard test records (Alice labels on"
        " Alice prompts, Bob labels on Bob prompts) per dataset and model; dashed: the 50 %"
        " baseline ln 2. Lower is better.",
    ),
    "opposing_label_loss": FigureSpec(
        "Fig. 10",
        "Quirkiness",
        {"quirkiness": "quirkiness"},
        "Follow-up Figure 10: mean loss of the other character's labels on disagreeing hard test"
        " records (Bob labels on Alice prompts, Alice labels on Bob prompts); dashed: ln 2."
        " Higher is better.",
    ),
    "auroc_vs_separation": FigureSpec(
        "Fig. 11",
        "Separation",
        {"auroc": _MAHALANOBIS_ACTIVATIONS, "per_layer": "separation_per_layer"},
        "Follow-up Figure 11: per-layer AUROC of Mahalanobis on raw activations against the"
        " hidden-state separation S_i = ||mu_Alice - mu_Bob||^2 / Tr(Sigma_i) of that layer on"
        " the hard test mix; one point per model x dataset x layer. The title gives R^2 of AUROC"
        " on S and on log10 S.",
    ),
    "logit_separation_vs_separation": FigureSpec(
        "Fig. 12",
        "Separation",
        {"per_layer": "separation_per_layer", "summary": "separation_summary"},
        "Follow-up Figure 12: logit separation (S applied to l = logit(Yes) - logit(No)) of each"
        " model x dataset against the hidden-state separation S_i of each of its layers, with"
        " R^2 (paper: 0.09).",
    ),
    "logit_variance_vs_separation": FigureSpec(
        "Fig. 13",
        "Separation",
        {"summary": "separation_summary"},
        "Follow-up Figure 13: pooled variance of l = logit(Yes) - logit(No) on the hard test mix"
        " against the layer-averaged separation (geometric mean of S_i over layers); one point"
        " per model x dataset; R^2 (paper: 0.21).",
    ),
    "ab_logit_separation_vs_separation": FigureSpec(
        "Fig. 14",
        "Separation",
        {"summary": "separation_summary"},
        "Follow-up Figure 14: Alice-Bob logit separation (mean_Alice l - mean_Bob l)^2 against"
        " the layer-averaged separation; one point per model x dataset; R^2 (paper: 0.18).",
    ),
    # --- explain (issue 21; docs/explain.md) ---
    "explanations": FigureSpec(
        "issue 21",
        "Explanations",
        {"directions": "explain/activations/none/mahalanobis", "auroc": _MAHALANOBIS_ACTIVATIONS},
        "Why Bob's records are flagged (rule explain_scores; docs/explain.md), one row per model x"
        " dataset. Left: at the explained layer with the best AUROC of activations x Mahalanobis,"
        " the eigendirections of the trusted covariance that carry most of the anomalous (Bob)"
        " records' excess score over the normal (Alice) ones; bars = mean share of a record's"
        " score each carries on anomalous and on normal test records; labels = cosine of the"
        " direction (oriented towards Bob) with the Alice-Bob mean difference of the test mix, and"
        " the tokens it promotes most (logit lens through the final norm and unembedding). Right:"
        " each layer's part of the layer-aggregated score's excess (Bob mean - Alice mean).",
    ),
    # --- stats (issue 18) ---
    "comparisons_forest": FigureSpec(
        "issue 18",
        "AUROC",
        {"comparisons": "comparisons"},
        "Paired comparisons of the scores in the config's ``comparisons:`` (e.g. QUE vs"
        " Mahalanobis on activations): one row per pair x dataset, a panel per model; Delta AUROC"
        " (a - b) of the layer-aggregated scores over their shared layers, with its 95 % paired"
        " name-clustered bootstrap interval (the same resampled names and records for both"
        " scores); filled: bootstrap p < 0.05; dashed: no difference (docs/statistics.md).",
    ),
    # --- controls (issue 28, item 2) ---
    "controls": FigureSpec(
        "issue 28",
        "AUROC",
        {"controls": "controls"},
        "Controls of every layer-aggregated AUROC (docs/statistics.md, Controls): a panel per"
        " model x dataset, a row per score; black: AUROC on the test mix (filled: p_chance_gender"
        " < 0.05, i.e. beyond re-splitting the held-out names within gender); blue / red: AUROC"
        " within male / female names; grey: the same detector on the base (un-fine-tuned) model's"
        " activations of the same records (negative control); dotted line and band: AUROC of a"
        " score that reads only the name's gender; error bars: 95 % name-clustered intervals."
        " A detector at chance within each gender reads gender, not the quirk.",
    ),
    "trigger_mechanism": FigureSpec(
        "issue 30",
        "AUROC",
        {"auroc": "auroc"},
        "Trigger quirks (docs/triggers.md): per model x trigger dataset, each score's"
        " layer-aggregated AUROC of trigger vs decoy prompts (y) against trigger vs clean prompts"
        " (x). An input-novelty detector scores high on x and at chance on y (a decoy is as new as"
        " the trigger); a detector of the backdoor's mechanism is high on both. Error bars: 95 %"
        " decoy-clustered bootstrap intervals; dashed: chance; dotted: y = x.",
    ),
}

# --- sweeps (issue 20): one figure per axis of difficulty, drawn when `sweeps.<axis>` is set ---
_SWEEP_AXES = {
    "n_trusted": "the size of the trusted set (nested seeded subsets; the mean over draws)",
    "untrusted": "the unlabelled data offline detectors see (none = the trusted set only, easy"
    " untrusted records, the test mix); online detectors do not use it",
    "contamination": "the fraction of anomalous (Bob) records in an easy untrusted set of fixed"
    " size (the mean over draws)",
    "trusted_difficulty": "the difficulty band of the trusted records, test mix fixed at hard"
    " (equal-size draws; the mean over draws)",
    "test_difficulty": "the difficulty band of the test mix, trusted set fixed at easy",
}
for _axis, _what in _SWEEP_AXES.items():
    FIGURE_CATALOGUE[f"sweep_{_axis}"] = FigureSpec(
        "issue 20",
        "Axes of difficulty",
        {"sweep": f"sweep_{_axis}"},
        f"Axis of difficulty ``{_axis}`` (docs/sweeps.md): layer-aggregated AUROC against {_what};"
        " a line per feature x detector, a panel per model x dataset; bands: 95 % name-clustered"
        " bootstrap interval (mean of the draws' intervals); dashed: chance.",
    )
