"""Test against chance: the name-relabelling permutation null (issue 18, item 2).

Under "no side difference", which held-out names play Alice and which play Bob is arbitrary:
re-split the held-out names at random into two groups of the observed sizes (12 and 12 on the
default run), label each record by its name's group, and recompute the AUROC. Records of one
name always move together, so the null keeps the name effects that an example-level test
ignores. Two-sided (a detector reliably below 0.5 also separates the sides):

    p_chance = (1 + #{r : |AUROC_r − ½| ≥ |AUROC_obs − ½|}) / (1 + n_perm)

(Phipson & Smyth 2010: never 0, valid for a random subset of the permutations.) With
n_perm = 1000 the smallest attainable p is ≈ 0.001, so p ≈ 0.01 is resolved.
"""

from __future__ import annotations

import numpy as np

from quirkymad.stats.auroc import relabelled_auroc

# Guard against float noise making an identical relabelling count as "less extreme".
_TOL = 1e-12


def name_relabellings(
    is_anomalous: np.ndarray,
    name: np.ndarray,
    n_perm: int,
    rng: np.random.Generator,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """`[n_perm, n]` bool labels: the names re-split into groups of the observed sizes (a name's
    side is that of its records; a name on both sides is an error).

    With `strata` (`[n]`, one value per record, constant within a name: e.g. the name's gender)
    the re-split happens within each stratum, keeping how many names of each stratum play Bob:
    the gender-stratified null of docs/statistics.md ("Controls")."""
    y = np.asarray(is_anomalous, dtype=bool)
    names = np.asarray(name).astype(str)
    uniq, inv = np.unique(names, return_inverse=True)
    side = np.zeros(len(uniq), dtype=bool)
    side[inv[y]] = True
    if np.any(np.bincount(inv[~y], minlength=len(uniq))[side]):
        raise ValueError("a test name occurs on both sides; the name-relabelling null needs each "
                         "name on one side")  # fmt: skip
    stratum = np.zeros(len(uniq), dtype=np.int64)
    if strata is not None:
        _, codes = np.unique(np.asarray(strata).astype(str), return_inverse=True)
        stratum[inv] = codes
        if np.any(stratum[inv] != codes):
            raise ValueError("a name's records fall in different strata")
    group = np.zeros((n_perm, len(uniq)), dtype=bool)
    for k in np.unique(stratum):
        members = np.flatnonzero(stratum == k)
        # A random permutation per row; its first k_anomalous names form the "anomalous" group.
        perm = np.argsort(rng.random((n_perm, len(members))), axis=1)
        part = np.zeros((n_perm, len(members)), dtype=bool)
        np.put_along_axis(part, perm[:, : int(side[members].sum())], True, axis=1)
        group[:, members] = part
    return group[:, inv]


def p_chance(observed: float, null: np.ndarray) -> float:
    """Two-sided permutation p-value of `observed` against null AUROCs `[n_perm]`."""
    v = np.asarray(null, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not np.isfinite(observed) or not len(v):
        return float("nan")
    k = int((np.abs(v - 0.5) >= abs(observed - 0.5) - _TOL).sum())
    return (1 + k) / (1 + len(v))


def p_chance_many(scores: np.ndarray, labels: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """p_chance of each row of `scores` `[n_rows, n]` against the same relabellings."""
    return np.array([p_chance(o, relabelled_auroc(s, labels)) for s, o in zip(scores, observed)])
