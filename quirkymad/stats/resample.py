"""Bootstrap weight matrices for the test mix: example-level and name-clustered.

Both stratify by side (normal = Alice names, anomalous = Bob names), so every replicate keeps
both classes. A row of the returned `[n_boot, n]` matrix counts how often each record is
drawn; `quirkymad.stats.auroc.weighted_auroc` turns it into one AUROC per row.

*Example-level* (the interval the tables had before issue 18): within each side, draw that
side's n records with replacement. It treats records as independent.

*Name-clustered*: within each side, draw that side's K names with replacement; every record of
a name shares the name's effect on the model (the prompt says `Name: …`), so the test mix holds
K independent units per side, not n. Second stage, `within`:

- `keep` (default; Davison & Hinkley 1997 §3.8 "strategy 1", the cluster bootstrap): a drawn
  name brings all its records. Its interval matches the example-level one when names carry no
  shared effect and widens with the name effect (tests/stats/test_auroc.py).
- `resample` ("strategy 2", the two-stage bootstrap): a drawn name brings as many records drawn
  with replacement from its own. It counts the within-name noise twice (once through the name
  means, once through the second draw), so with no name effect it is ≈ √2 × as wide as the
  example-level interval (measured: 0.077 vs 0.056 half-width at 12 names × 17 records per
  side; docs/statistics.md). Available for comparison with analyses that use it.
"""

from __future__ import annotations

import numpy as np

from quirkymad.stats.settings import LEVEL, SCORING

# Second stage of the name-clustered draw (see module docstring).
WITHIN = ("keep", "resample")


def _uniform(k: int) -> np.ndarray:
    return np.full(k, 1.0 / k)


def example_weights(is_anomalous: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """`[n_boot, n]` counts: each side's records drawn with replacement, side sizes kept."""
    y = np.asarray(is_anomalous, dtype=bool)
    w = np.zeros((n_boot, len(y)), dtype=np.int32)
    for side in (False, True):
        idx = np.flatnonzero(y == side)
        if len(idx):
            w[:, idx] = rng.multinomial(len(idx), _uniform(len(idx)), size=n_boot)
    return w


def name_weights(
    is_anomalous: np.ndarray,
    name: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    within: str = SCORING.name_bootstrap,
) -> np.ndarray:
    """`[n_boot, n]` counts of the name-clustered draw: names within each side with
    replacement; then each drawn name brings all its records (`within="keep"`, the cluster
    bootstrap) or as many records drawn with replacement from its own (`"resample"`, the
    two-stage bootstrap). A name drawn m times counts m times."""
    if within not in WITHIN:
        raise ValueError(f"within must be one of {WITHIN}, not {within!r}")
    y = np.asarray(is_anomalous, dtype=bool)
    names = np.asarray(name).astype(str)
    w = np.zeros((n_boot, len(y)), dtype=np.int32)
    for side in (False, True):
        idx = np.flatnonzero(y == side)
        if not len(idx):
            continue
        uniq, inv = np.unique(names[idx], return_inverse=True)
        picks = rng.multinomial(len(uniq), _uniform(len(uniq)), size=n_boot)  # [n_boot, K]
        if within == "keep":
            w[:, idx] = picks[:, inv]
            continue
        for k in range(len(uniq)):
            members = idx[inv == k]
            w[:, members] = rng.multinomial(picks[:, k] * len(members), _uniform(len(members)))
    return w


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of finite replicate values; (NaN, NaN) when none is finite."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(v, a)), float(np.quantile(v, 1 - a))
