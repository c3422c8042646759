"""Layer and feature combinations of detectors ([B1]; spec §4; docs/detectors.md).

A plain scoring job (`quirkymad.scoring.stage`) fits one detector per layer and aggregates by the
*mean* of the raw layer scores (its `layer = "all"` row, `combination = "mean"`). The three
other combinations of the source are scoring jobs of their own (rule `score_combination`,
results/{model}/{dataset}/combinations/{combination}/{features}/{score}/), each writing the same
two tables as a plain job:

- **concat**: one detector fitted on the concatenation of every scored layer's features of one
  store (probe shift: each probe's valid components). One row, `layer = "all"`,
  `combination = "concat"`.
- **merge**: per layer, the features of several stores (default activations + attribution)
  concatenated, one detector per layer, on the layers the stores share; feature label
  `activations+attribution`; per-layer rows and their mean, as a plain job.
- **ensemble**: per layer, several detectors fitted on the same features, each score
  standardised by the mean and standard deviation of its *trusted* scores, then averaged;
  score label `mahalanobis+que`; per-layer rows and their mean. The trusted scores are
  out-of-fold (`folds`-fold cross-fitting on the trusted records): a detector scoring its own
  training records is biased low, and with fewer trusted records than dimensions Mahalanobis
  gives every training record nearly the same score (its standard deviation ~ 0).

Intervals, p_chance and the selection-split AUROC come from the same code as every other row
(`quirkymad.scoring.stage.layer_tables`, `quirkymad.stats.rows`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quirkymad.core.atomic import atomic_path
from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import write_parquet
from quirkymad.core.run_settings import RUN
from quirkymad.core.store import open_store, strings
from quirkymad.core.tables import AUROC_FILE, SCORES_FILE
from quirkymad.detectors import make_detector
from quirkymad.scoring.stage import (
    layer_matrix,
    layer_tables,
    meta_table,
    record_masks,
    untrusted_mask,
)
from quirkymad.stats.settings import SCORING, ScoringSettings

log = logging.getLogger(__name__)

COMBINATIONS = ("concat", "merge", "ensemble")


def _open_aligned(stores: dict[str, str | Path]):
    """The stores opened, with per store the index of each record every store holds, in the
    first store's order (so `order[first]` are those records' positions in the first store).
    A store may hold more (e.g. a sweep's extra trusted records in the activation store), but
    every MAD-role record of the first store must be in all of them."""
    from quirkymad.core.roles import MAD_ROLES
    from quirkymad.datasets.selection import SELECT_ROLES

    opened = {f: open_store(p, variable=f) for f, p in stores.items()}
    first = next(iter(opened.values()))
    ids = strings(first, "example")
    pos = {f: {e: i for i, e in enumerate(strings(ds, "example"))} for f, ds in opened.items()}
    shared = np.array([all(e in p for p in pos.values()) for e in ids], dtype=bool)
    needed = np.isin(strings(first, "role"), MAD_ROLES + SELECT_ROLES)
    if (needed & ~shared).any():
        missing = [f for f, p in pos.items() if any(e not in p for e in ids[needed])]
        raise QuirkyError(
            f"{stores[missing[0]]}: lacks MAD records of {next(iter(stores.values()))}"
        )
    keep = np.flatnonzero(shared)
    order = {f: np.array([p[ids[i]] for i in keep], dtype=np.int64) for f, p in pos.items()}
    return opened, order


def _expand(mask: np.ndarray, positions: np.ndarray, n: int) -> np.ndarray:
    """`mask` over the records at `positions` as a mask over all `n` records."""
    out = np.zeros(n, dtype=bool)
    out[positions[mask]] = True
    return out


def _fit_score(name, hparams, x, trusted, untrusted, evaluated) -> np.ndarray:
    det = make_detector(name, hparams)
    det.fit(x[trusted], x[untrusted] if det.offline else None)
    return np.asarray(det.score(x[evaluated]), dtype=np.float64)


def trusted_moments(
    name: str,
    hparams: dict[str, Any],
    x: np.ndarray,
    trusted: np.ndarray,
    untrusted: np.ndarray,
    folds: int,
    seed: int,
) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1) of detector `name`'s out-of-fold scores of the
    trusted records of `x`: each of `folds` shuffled folds scored by the detector fitted on
    the other trusted records (and, offline, on the same unlabelled set)."""
    idx = np.flatnonzero(trusted)
    k = min(folds, len(idx) // 2)
    if k < 2:
        raise QuirkyError(f"ensemble: need ≥4 trusted records to standardise, have {len(idx)}")
    perm = np.random.default_rng(seed).permutation(idx)
    oof = np.empty(len(idx))
    start = 0
    for part in np.array_split(perm, k):
        train = np.zeros_like(trusted)
        train[np.setdiff1d(idx, part)] = True
        held = np.zeros_like(trusted)
        held[part] = True
        oof[start : start + len(part)] = _fit_score(name, hparams, x, train, untrusted, held)
        start += len(part)
    mu, sd = float(oof.mean()), float(oof.std(ddof=1))
    if not np.isfinite(sd) or sd <= 0:
        log.warning("ensemble: %s has constant out-of-fold trusted scores; not scaled", name)
        sd = 1.0
    return mu, sd


def combine_scores(
    kind: str,
    xs: dict[str, dict[int, np.ndarray]],
    detectors: Sequence[str],
    hparams: dict[str, dict[str, Any]],
    role: np.ndarray,
    folds: int | None = None,
    seed: int = RUN.seed,
) -> tuple[list[str], np.ndarray]:
    """(row labels, scores `[n_rows, n_evaluated]`) of one combination job.

    `xs[feature][layer]` = the features `[n_records, width]` of one store's layer (records in
    one order across stores); `role` = the records' roles. concat: one row "all"; merge and
    ensemble: one row per layer (the caller adds their mean). `folds` (ensemble only): the
    cross-fitting folds of the standardising moments."""
    trusted, test, select = record_masks(role)
    evaluated = test | select
    if trusted.sum() < 2 or test.sum() == 0:
        raise QuirkyError(
            f"need ≥2 trusted and ≥1 test records, have {trusted.sum()} / {test.sum()}"
        )
    probes = {d: make_detector(d, hparams.get(d)) for d in detectors}
    unt = {d: untrusted_mask(p, role) for d, p in probes.items()}
    if kind == "concat":
        ((feature, by_layer),) = xs.items()
        ((d, _),) = probes.items()
        x = np.concatenate([by_layer[ell] for ell in sorted(by_layer)], axis=1)
        return ["all"], _fit_score(d, hparams.get(d), x, trusted, unt[d], evaluated)[None]
    if kind == "merge":
        ((d, _),) = probes.items()
        layers = sorted(set.intersection(*(set(b) for b in xs.values())))
        if not layers:
            raise QuirkyError(f"merge: the stores {sorted(xs)} share no layer")
        rows = [
            _fit_score(d, hparams.get(d),
                       np.concatenate([xs[f][ell] for f in xs], axis=1),
                       trusted, unt[d], evaluated)
            for ell in layers
        ]  # fmt: skip
        return [str(ell) for ell in layers], np.stack(rows)
    if kind == "ensemble":
        if folds is None:
            raise QuirkyError("ensemble: needs `folds` (config combinations.ensemble.folds)")
        ((feature, by_layer),) = xs.items()
        rows = []
        for ell in sorted(by_layer):
            x, z = by_layer[ell], []
            for d in detectors:
                s = _fit_score(d, hparams.get(d), x, trusted, unt[d], evaluated)
                mu, sd = trusted_moments(d, hparams.get(d), x, trusted, unt[d], folds, seed)
                z.append((s - mu) / sd)
            rows.append(np.mean(z, axis=0))
        return [str(ell) for ell in sorted(by_layer)], np.stack(rows)
    raise QuirkyError(f"unknown combination {kind!r}; known: {', '.join(COMBINATIONS)}")


def combination_labels(kind: str, features: Sequence[str], detectors: Sequence[str]):
    """(feature label, detector label) of a job's AUROC rows: merged stores and ensembled
    detectors are joined with `+` (activations+attribution, mahalanobis+que)."""
    return "+".join(features), "+".join(detectors)


def score_combination(
    kind: str,
    stores: dict[str, str | Path],
    detectors: Sequence[str],
    hparams: dict[str, dict[str, Any]],
    out_scores: str | Path,
    out_auroc: str | Path,
    labels: dict[str, str],
    folds: int | None = None,
    scoring: ScoringSettings = SCORING,
    seed: int = RUN.seed,
) -> pd.DataFrame:
    """Score one combination job (module docstring) of the stores `{feature: path}` with
    `detectors` (`{name: hyperparameters}` in `hparams`); write its scores and AUROC tables
    (as `quirkymad.scoring.stage.score_store`) and return the AUROC table. `labels`: model, dataset."""
    opened, order = _open_aligned(stores)
    first = next(iter(opened))
    ds0 = opened[first]
    role_all = strings(ds0, "role")
    role = role_all[order[first]]
    xs = {
        f: {int(ell): layer_matrix(ds, f, int(ell))[order[f]] for ell in ds["layer"].values}
        for f, ds in opened.items()
    }
    rows, stacked = combine_scores(kind, xs, detectors, hparams, role, folds=folds, seed=seed)
    _, test, select = record_masks(role)
    offline = any(make_detector(d, hparams.get(d)).offline for d in detectors)
    feature, detector = combination_labels(kind, list(stores), detectors)
    head = {**labels, "transform": "none", "feature": feature, "detector": detector,
            "setting": "offline" if offline else "online"}  # fmt: skip
    if kind == "concat":
        head["combination"] = "concat"
    scores, table = layer_tables(
        stacked, rows, meta_table(ds0, stores[first], role_all, _expand(test, order[first],
                                  len(role_all))), role, test, select, head,
        aggregate=None if kind == "concat" else "mean",
        scoring=scoring, seed=seed,
    )  # fmt: skip
    for path, df in ((out_scores, scores), (out_auroc, table)):
        with atomic_path(path) as tmp:
            write_parquet(df, tmp)
    return table


def combination_to_directory(out_dir: str | Path, **kwargs: Any) -> pd.DataFrame:
    """`score_combination` into `out_dir/scores.parquet` and `out_dir/auroc.parquet`."""
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        return score_combination(out_scores=tmp / SCORES_FILE, out_auroc=tmp / AUROC_FILE, **kwargs)
