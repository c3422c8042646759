"""AUROC and average precision (sklearn), and the example-level bootstrap interval.

The name-clustered interval and the permutation test live in `quirkymad.stats`.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from quirkymad.core.run_settings import RUN
from quirkymad.stats.auroc import weighted_auroc
from quirkymad.stats.resample import example_weights, percentile_interval
from quirkymad.stats.settings import LEVEL, SCORING


def auroc(is_anomalous: np.ndarray, score: np.ndarray) -> float:
    """AUROC of `score` for `is_anomalous` (`[n]` bool); NaN when one class is absent."""
    y = np.asarray(is_anomalous, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, score))


def bootstrap_ci(
    is_anomalous: np.ndarray,
    score: np.ndarray,
    n_boot: int = SCORING.n_bootstrap,
    level: float = LEVEL,
    seed: int = RUN.seed,
) -> tuple[float, float]:
    """Example-level percentile interval of AUROC over `n_boot` resamples drawn within each
    class (records treated as independent; see `quirkymad.stats.resample`)."""
    y = np.asarray(is_anomalous, dtype=bool)
    if y.all() or not y.any() or n_boot == 0:
        return float("nan"), float("nan")
    w = example_weights(y, n_boot, np.random.default_rng(seed))
    return percentile_interval(weighted_auroc(score, y, w), level)


def average_precision(is_anomalous: np.ndarray, score: np.ndarray) -> float:
    y = np.asarray(is_anomalous, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(average_precision_score(y, score))
