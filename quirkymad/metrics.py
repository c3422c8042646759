"""AUROC with a stratified bootstrap confidence interval (sklearn's `roc_auc_score`)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def auroc(is_anomalous: np.ndarray, score: np.ndarray) -> float:
    """AUROC of `score` for `is_anomalous` (`[n]` bool); NaN when one class is absent."""
    y = np.asarray(is_anomalous, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, score))


def bootstrap_ci(
    is_anomalous: np.ndarray,
    score: np.ndarray,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of AUROC over `n_boot` resamples drawn within each class."""
    y = np.asarray(is_anomalous, dtype=bool)
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    if len(pos) == 0 or len(neg) == 0 or n_boot == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    s = np.asarray(score, dtype=float)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        p = s[rng.choice(pos, len(pos))]
        n = s[rng.choice(neg, len(neg))]
        # Mann–Whitney form of AUROC on the resample (ties count one half).
        order = np.argsort(np.concatenate([n, p]), kind="mergesort")
        ranks = np.empty(len(order))
        ranks[order] = np.arange(1, len(order) + 1)
        allv = np.concatenate([n, p])
        _, inv, counts = np.unique(allv, return_inverse=True, return_counts=True)
        sums = np.bincount(inv, weights=ranks)
        ranks = (sums / counts)[inv]
        stats[b] = (ranks[len(n) :].sum() - len(p) * (len(p) + 1) / 2) / (len(p) * len(n))
    alpha = (1 - level) / 2
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha))


def average_precision(is_anomalous: np.ndarray, score: np.ndarray) -> float:
    y = np.asarray(is_anomalous, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(average_precision_score(y, score))
