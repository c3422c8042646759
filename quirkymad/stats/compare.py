"""Paired comparisons of two scores on the same test mix (issue 18, item 3).

A *score* is a scoring job, named `feature/transform/detector` (its directory under
results/{model}/{dataset}/scores/). For a pair (a, b) on one model × dataset the table gives
Δ = AUROC(a) − AUROC(b) of the layer-aggregated scores, with a paired name-clustered bootstrap
interval: each replicate draws names and records once (`quirkymad.stats.resample.name_weights`,
the same draws as the AUROC table's `ci_*_name`) and evaluates both scores on them, so the
shared name effects cancel in Δ instead of adding up.

p_value is the bootstrap two-sided p of Δ = 0 (the smallest α whose percentile interval
excludes 0): p = min(1, 2 · min(1 + #{Δ* ≤ 0}, 1 + #{Δ* ≥ 0}) / (1 + n_boot)).

Aggregation: both scores are averaged over the layers they share (spec §6.8's unweighted mean
of raw layer scores). For most pairs those are all layers and Δ compares the tables' "all"
rows; a transform read at two layers (flow, SAE) is compared with raw Mahalanobis on the same
two layers, as the follow-up does (layers 23/29), rather than with raw Mahalanobis over all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quirkymad.core.atomic import atomic_path
from quirkymad.core.integrity import read_parquet, write_parquet
from quirkymad.core.run_settings import RUN
from quirkymad.core.tables import SCORES_FILE
from quirkymad.stats.auroc import weighted_auroc
from quirkymad.stats.metrics import auroc
from quirkymad.stats.resample import name_weights, percentile_interval
from quirkymad.stats.rows import resampling_streams
from quirkymad.stats.settings import LEVEL, SCORING, ScoringSettings

log = logging.getLogger(__name__)


def paired_difference(
    is_anomalous: np.ndarray,
    name: np.ndarray,
    score_a: np.ndarray,
    score_b: np.ndarray,
    n_boot: int = SCORING.n_bootstrap,
    seed: int = RUN.seed,
    within: str = SCORING.name_bootstrap,
) -> dict[str, float]:
    """Δ = AUROC(a) − AUROC(b) over the same records `[n]`, its paired name-clustered
    percentile interval and bootstrap p-value."""
    y = np.asarray(is_anomalous, dtype=bool)
    auc_a, auc_b = auroc(y, score_a), auroc(y, score_b)
    out = {"auroc_a": auc_a, "auroc_b": auc_b, "diff": auc_a - auc_b}
    if not n_boot:
        return out | {"ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    w = name_weights(y, name, n_boot, resampling_streams(seed)[1], within)
    d = weighted_auroc(score_a, y, w) - weighted_auroc(score_b, y, w)
    d = d[np.isfinite(d)]
    lo, hi = percentile_interval(d, LEVEL)
    tail = min(1 + (d <= 0).sum(), 1 + (d >= 0).sum())
    return out | {"ci_low": lo, "ci_high": hi, "p_value": min(1.0, 2 * tail / (1 + len(d)))}


def _aggregate(scores: pd.DataFrame, layers: Sequence[str]) -> pd.DataFrame:
    """Per example: mean of the raw layer scores over `layers` (example, is_anomalous, name)."""
    per = scores[scores["layer"].isin(layers)]
    agg = per.groupby("example", sort=False)["score"].mean()
    meta = per.drop_duplicates("example").set_index("example")[["is_anomalous", "name"]]
    return meta.assign(score=agg)


def compare_jobs(
    scores_a: pd.DataFrame,
    scores_b: pd.DataFrame,
    n_boot: int = SCORING.n_bootstrap,
    seed: int = RUN.seed,
    within: str = SCORING.name_bootstrap,
) -> dict[str, Any]:
    """One comparison row from two scoring jobs' per-example tables (scores.parquet) of the
    same test mix."""
    la = [x for x in dict.fromkeys(scores_a["layer"]) if x != "all"]
    lb = set(scores_b["layer"]) - {"all"}
    shared = [x for x in la if x in lb]
    if not shared:
        raise ValueError("the two scores share no layer")
    a, b = _aggregate(scores_a, shared), _aggregate(scores_b, shared)
    if set(a.index) != set(b.index):
        raise ValueError("the two scores are not on the same test records")
    b = b.loc[a.index]
    row = paired_difference(a["is_anomalous"].to_numpy(), a["name"].to_numpy(),
                            a["score"].to_numpy(), b["score"].to_numpy(), n_boot, seed, within)  # fmt: skip
    same = len(shared) == len(la) == len(lb)
    return {"layers": "all" if same else ",".join(shared), **row}


def comparisons_table(
    jobs: Sequence[Mapping[str, str]],
    n_boot: int = SCORING.n_bootstrap,
    seed: int = RUN.seed,
    within: str = SCORING.name_bootstrap,
) -> pd.DataFrame:
    """Rows for `jobs` (model, dataset, pair, a, b, a_dir, b_dir: the two scoring jobs'
    directories; optionally `seed`, the replicate, which then also seeds its bootstrap so that
    it resamples as its scoring jobs did; else `seed`)."""
    rows = []
    for job in jobs:
        sa = read_parquet(Path(job["a_dir"]) / SCORES_FILE)
        sb = read_parquet(Path(job["b_dir"]) / SCORES_FILE)
        head = {k: job[k] for k in ("model", "dataset", "pair", "a", "b")}
        head["seed"] = int(job.get("seed", seed))
        rows.append(head | compare_jobs(sa, sb, n_boot=n_boot, seed=head["seed"], within=within))
    columns = ["model", "dataset", "seed", "pair", "a", "b", "layers", "auroc_a", "auroc_b", "diff",
               "ci_low", "ci_high", "p_value"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def write_comparisons(
    jobs: Sequence[Mapping[str, str]],
    out_parquet: str | Path,
    out_csv: str | Path,
    skipped: Mapping[str, str] | None = None,
    scoring: ScoringSettings = SCORING,
    seed: int = RUN.seed,
) -> pd.DataFrame:
    for pair, reason in (skipped or {}).items():
        log.info("comparison %s skipped: %s", pair, reason)
    df = comparisons_table(
        jobs, n_boot=scoring.n_bootstrap, seed=seed, within=scoring.name_bootstrap
    )
    with atomic_path(out_parquet) as tmp:
        write_parquet(df, tmp)
    with atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df
