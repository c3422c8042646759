"""AUROC of many resamples at once: weighted Mann–Whitney over a `[n_rep, n]` weight matrix.

A bootstrap replicate that draws record i `w_i` times is the AUROC of the data with sample
weights `w` (Mann–Whitney U with ties counted one half):

    AUROC(w) = Σ_{i pos, j neg} w_i w_j ([s_i > s_j] + ½[s_i = s_j]) / (W_pos · W_neg).

The scores are sorted once; each replicate is then one cumulative sum over the sorted
records, so `n_rep` replicates cost O(n_rep · n) instead of `n_rep` sorts. Agrees with
sklearn's `roc_auc_score(y, s, sample_weight=w)` (tests/stats/test_auroc.py).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

# Rows of the weight matrix handled at once: bounds temporary memory to a few × 32 MiB.
CHUNK_ELEMENTS = 2**22


def weighted_auroc(score: np.ndarray, is_anomalous: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC per replicate. `score`, `is_anomalous`: `[n]`; `weights`: `[n_rep, n]` integer
    counts ≥ 0 (a bootstrap draw; 0 drops a record). Returns `[n_rep]`, NaN where a class has
    no weight. Integer arithmetic throughout (twice the numerator, so ties' ½ stays exact)."""
    s = np.asarray(score, dtype=np.float64)
    neg = ~np.asarray(is_anomalous, dtype=bool)
    w_all = np.asarray(weights)
    order = np.argsort(s, kind="stable")
    s_sorted, neg_sorted = s[order], neg[order]
    # Start of each run of tied scores in the sorted order (skipped when there are no ties).
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    tied = len(starts) < len(s)
    out = np.empty(len(w_all))
    step = max(1, CHUNK_ELEMENTS // max(len(s), 1))
    for lo in range(0, len(w_all), step):
        w = w_all[lo : lo + step][:, order].astype(np.int32, copy=False)
        wn = w * neg_sorted
        wp = w - wn
        if tied:
            wp, wn = np.add.reduceat(wp, starts, axis=1), np.add.reduceat(wn, starts, axis=1)
        below2 = 2 * np.cumsum(wn, axis=1) - wn  # 2 × (negatives strictly below) + ties
        num2 = (wp * below2).sum(axis=1, dtype=np.int64)
        den = wp.sum(axis=1, dtype=np.int64) * wn.sum(axis=1, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + step] = np.where(den > 0, num2 / (2.0 * den), np.nan)
    return out


def relabelled_auroc(score: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUROC of one score under many labellings. `score`: `[n]`; `labels`: `[n_rep, n]` bool
    (True = anomalous). Rank-sum form: (Σ_{pos} rank − n₁(n₁+1)/2) / (n₁ n₀), average ranks for
    ties. Returns `[n_rep]`, NaN where a labelling has one class only."""
    r = rankdata(np.asarray(score, dtype=np.float64))
    lab = np.asarray(labels, dtype=bool)
    n1 = lab.sum(axis=1).astype(np.float64)
    n0 = lab.shape[1] - n1
    rank_sum = lab.astype(np.float64) @ r
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n1 * n0 > 0, (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0), np.nan)
