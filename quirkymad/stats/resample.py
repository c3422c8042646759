"""Bootstrap weight matrices for the test mix: example-level and name-clustered.

Both stratify by side (normal = Alice names, anomalous = Bob names), so every replicate keeps
both classes. A row of the returned `[n_boot, n]` matrix counts how often each record is
drawn; `quirkymad.stats.auroc.weighted_auroc` turns it into one AUROC per row.

*Example-level* (the interval the tables had before issue 18): within each side, draw that
side's n records with replacement. It treats records as independent.

*Name-clustered* (hierarchical, two-stage cluster bootstrap; Davison & Hinkley 1997 §3.8,
"strategy 1": resample clusters, then units within them): within each side, draw that side's
K names with replacement; for each drawn name draw as many records as the name has, with
replacement, from its records. Every record of a name shares the name's effect on the model
(the prompt says `Name: …`), so the test mix holds K independent units per side, not n; this
interval reflects that.
"""

from __future__ import annotations

import numpy as np


def _uniform(k: int) -> np.ndarray:
    return np.full(k, 1.0 / k)


def example_weights(is_anomalous: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """`[n_boot, n]` counts: each side's records drawn with replacement, side sizes kept."""
    y = np.asarray(is_anomalous, dtype=bool)
    w = np.zeros((n_boot, len(y)), dtype=np.int64)
    for side in (False, True):
        idx = np.flatnonzero(y == side)
        if len(idx):
            w[:, idx] = rng.multinomial(len(idx), _uniform(len(idx)), size=n_boot)
    return w


def name_weights(
    is_anomalous: np.ndarray, name: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """`[n_boot, n]` counts of the two-stage draw: names within each side, then records within
    each drawn name (a name drawn m times contributes m × its record count)."""
    y = np.asarray(is_anomalous, dtype=bool)
    names = np.asarray(name).astype(str)
    w = np.zeros((n_boot, len(y)), dtype=np.int64)
    for side in (False, True):
        idx = np.flatnonzero(y == side)
        if not len(idx):
            continue
        uniq, inv = np.unique(names[idx], return_inverse=True)
        picks = rng.multinomial(len(uniq), _uniform(len(uniq)), size=n_boot)  # [n_boot, K]
        for k in range(len(uniq)):
            members = idx[inv == k]
            w[:, members] = rng.multinomial(picks[:, k] * len(members), _uniform(len(members)))
    return w


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of finite replicate values; (NaN, NaN) when none is finite."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(v, a)), float(np.quantile(v, 1 - a))
