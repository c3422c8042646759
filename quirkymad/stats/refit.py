"""Name-clustered intervals of transductive detectors, refitted inside the resampling (issue 28,
item 2; docs/statistics.md "Controls").

A transductive detector (offline, with `untrusted: test`: QUE, likelihood ratio, 2-Gaussian
EM) fits on the very test mix it then scores. Resampling its fixed scores treats the fit as
given, so the interval misses the fit's own variation and is too narrow. Here each replicate
draws names (and their records) as the AUROC table's name-clustered interval does, refits the
detector with the drawn records as its unlabelled set (a record drawn m times enters m
times), scores every test record with that fit and takes the replicate's AUROC over the same
draw (weights = draw counts): the bootstrap of the whole procedure, fit included (Efron &
Tibshirani 1993, §6: resample the data, rerun the estimator).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from quirkymad.core.run_settings import RUN
from quirkymad.stats.auroc import weighted_auroc
from quirkymad.stats.resample import name_weights, percentile_interval
from quirkymad.stats.settings import LEVEL, SCORING


def is_transductive(probe: Any) -> bool:
    """True for an offline detector whose unlabelled set is the test mix (`untrusted: test`,
    the default of QUE, likelihood ratio and EM; quirkymad.scoring.stage.untrusted_mask)."""
    return bool(probe.offline) and getattr(probe.params, "untrusted", "test") == "test"


def refit_stream(seed: int) -> np.random.Generator:
    """The refit draws' generator, apart from the AUROC table's three streams."""
    return np.random.default_rng([seed, 3])


def refit_intervals(
    refit_scores: Callable[[np.ndarray], np.ndarray],
    is_anomalous: np.ndarray,
    name: np.ndarray,
    agree: np.ndarray,
    n_refit: int,
    seed: int = RUN.seed,
    within: str = SCORING.name_bootstrap,
) -> list[dict[str, float]]:
    """Per row of `refit_scores`' output: `ci_{low,high}_name` and their agree / disagree
    versions, from `n_refit` refitted replicates.

    `refit_scores(draw)`: scores `[n_rows, n]` of the n test records from a detector refitted
    with the test records `draw` (indices into them, with repeats) as its unlabelled set.
    `is_anomalous`, `name`, `agree`: `[n]`, in the same order."""
    y = np.asarray(is_anomalous, dtype=bool)
    agree = np.asarray(agree, dtype=bool)
    w = name_weights(y, np.asarray(name).astype(str), n_refit, refit_stream(seed), within)
    subsets = {"": np.ones_like(y), "_agree": agree, "_disagree": ~agree}
    reps: dict[str, list[np.ndarray]] = {k: [] for k in subsets}
    for r in range(n_refit):
        s = np.atleast_2d(refit_scores(np.repeat(np.arange(len(y)), w[r])))
        for k, m in subsets.items():
            reps[k].append(np.array([weighted_auroc(row[m], y[m], w[r : r + 1, m])[0]
                                     for row in s]))  # fmt: skip
    rows: list[dict[str, float]] = []
    for i in range(len(reps[""][0]) if n_refit else 0):
        row = {}
        for k in subsets:
            lo, hi = percentile_interval(np.array([rep[i] for rep in reps[k]]), LEVEL)
            row[f"ci_low_name{k}"], row[f"ci_high_name{k}"] = lo, hi
        rows.append(row)
    return rows
