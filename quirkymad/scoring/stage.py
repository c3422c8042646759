"""The scoring stage: fit a detector per layer on trusted features, score the test mix.

Online detectors see trusted (Alice, easy, trusted names) records only; offline ones also see
the unlabelled untrusted set. With a fitted transform (`transforms/io.py`) the detector runs on
the transform's outputs, on the transform's layers only. Writes per-example scores and one long
AUROC table.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quirkymad.core.atomic import atomic_path
from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import write_parquet
from quirkymad.core.prompts import has_cues
from quirkymad.core.roles import EASY_UNTRUSTED_ROLES, TEST_ROLES
from quirkymad.core.run_settings import RUN
from quirkymad.core.store import open_store, strings
from quirkymad.core.tables import AUROC_FILE, SCORES_FILE
from quirkymad.datasets.selection import SELECT_ROLES
from quirkymad.detectors import Detector, make_detector
from quirkymad.stats.metrics import auroc
from quirkymad.stats.refit import is_transductive, refit_intervals
from quirkymad.stats.rows import auroc_rows
from quirkymad.stats.settings import SCORING, ScoringSettings

# torch and the transforms are imported where used: a scoring job for an sklearn detector on raw
# features (isolation forest) loads neither, and no job loads a transform kind it does not score.

log = logging.getLogger(__name__)


def _write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        write_parquet(df, tmp)


def _names(ds, store) -> np.ndarray:
    """The cluster unit of each record, which the name-clustered statistics resample: the
    drawn name. A trigger store (one speaker; a `cue` column) has its decoy phrase for decoy
    records ("decoy: mn") and the record itself otherwise, so its intervals are
    decoy-clustered (docs/triggers.md). A store without names (hand-built test stores) makes
    each record its own cluster, so its name-clustered interval is the example-level one."""
    if has_cues(ds):
        cue, example = strings(ds, "cue"), strings(ds, "example")
        decoy = np.char.add("decoy: ", strings(ds, "phrase").astype(str))
        return np.where(cue == "decoy", decoy, example).astype(object)
    if "name" in ds.coords or "name" in ds:
        return strings(ds, "name")
    log.warning("%s has no `name` column: name-clustered statistics treat records as names", store)
    return strings(ds, "example")


def record_masks(role: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trusted, test, select) masks of a store's roles. Selection records
    (quirkymad/datasets/selection.py) are scored beside the test mix, for the honest best layer only;
    they never enter the scores table nor the offline detectors' fit."""
    return role == "trusted", np.isin(role, TEST_ROLES), np.isin(role, SELECT_ROLES)


def untrusted_mask(probe: Detector, role: np.ndarray, test: np.ndarray | None = None) -> np.ndarray:
    """The unlabelled set an offline detector sees: the test mix (spec C1 default; `test`, or
    the store's test roles) or easy untrusted records (`untrusted: easy`)."""
    if getattr(probe.params, "untrusted", "test") == "easy":
        return np.isin(role, EASY_UNTRUSTED_ROLES)
    return np.isin(role, TEST_ROLES) if test is None else test


def meta_table(
    ds, store, role: np.ndarray, test: np.ndarray, anomalous: np.ndarray | None = None
) -> pd.DataFrame:
    """The scores table's per-record columns for the test mix (`anomalous`: which records are
    anomalous, default the `test_anomalous` role)."""
    anomalous = role == "test_anomalous" if anomalous is None else anomalous
    meta = pd.DataFrame(
        {
            "example": strings(ds, "example")[test],
            "character": strings(ds, "character")[test],
            "name": _names(ds, store)[test],
            "is_anomalous": anomalous[test],
            "agree": ds["agree"].values[test].astype(bool),
        }
    )
    if has_cues(ds):  # a trigger store: clean / decoy / trigger (stats/rows.py)
        meta["cue"] = strings(ds, "cue")[test]
    return meta


def layer_matrix(ds, feature: str, ell: int) -> np.ndarray:
    """Features `[n_examples, width]` (float64) of one layer: its components flattened, cut to
    the store's `valid_mask` if it has one (probe shift is zero-padded to a common width)."""
    x = np.asarray(ds[feature].sel(layer=ell).values, dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    mask_name = ds.attrs.get("valid_mask")
    if mask_name:
        x = x[:, np.asarray(ds[mask_name].sel(layer=ell).values, dtype=bool).reshape(-1)]
    return x


def layer_tables(
    stacked: np.ndarray,
    layers: list[str],
    meta: pd.DataFrame,
    role: np.ndarray,
    test: np.ndarray,
    select: np.ndarray,
    head: dict[str, Any],
    aggregate: str | None = "mean",
    scoring: ScoringSettings = SCORING,
    seed: int = RUN.seed,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores table, AUROC table) from scores `[n_rows, n_evaluated]` of the evaluated
    (test | select) records, one row per entry of `layers`.

    With `aggregate` (the default, "mean") a last row `layer = "all"` holds the mean over the
    rows; the AUROC table's `combination` column is "none" for single-layer rows and
    `aggregate` for that one. With `aggregate=None` the rows are taken as they are (a
    combination job: `layers = ["all"]`, its `head` names the combination). `head` (model,
    dataset, transform, feature, detector, setting[, combination]) leads the AUROC table."""
    evaluated = test | select
    stacked, stacked_select = stacked[:, test[evaluated]], stacked[:, select[evaluated]]
    rows, sel_rows = list(stacked), list(stacked_select)
    combination = ["none"] * len(layers)
    if aggregate is not None:
        layers = [*layers, "all"]
        rows.append(stacked.mean(0))
        sel_rows.append(stacked_select.mean(0))
        combination.append(aggregate)
    frames = [meta.assign(layer=ell, score=s) for ell, s in zip(layers, rows)]
    scores = pd.concat(frames, ignore_index=True)
    table = pd.DataFrame(auroc_rows(scores, n_boot=scoring.n_bootstrap, seed=seed,
                                    n_perm=scoring.n_permutations, within=scoring.name_bootstrap))  # fmt: skip
    is_bob = role[select] == "select_anomalous"
    table["auroc_select"] = [auroc(is_bob, s) for s in sel_rows] if select.any() else np.nan
    table["ci_name_refits"] = 0  # transductive detectors' refitted intervals: _refit_table
    head = dict(head)
    if "combination" in head:
        combination = [head.pop("combination")] * len(layers)
    table.insert(0, "combination", combination)
    for k, v in reversed(head.items()):
        table.insert(0, k, v)
    return scores, table


# Upper bound on the float64 features of one batched layer chunk (host and device memory).
BATCH_BYTES = 2**30


def _batched_scores(
    probe, data, layer_ids: list[int], trusted, untrusted, test
) -> np.ndarray | None:
    """Scores `[n_layers, n_test]` from `probe.score_all_layers`, in layer chunks of at most
    BATCH_BYTES; None when the detector has no batched path."""
    if type(probe).score_all_layers is Detector.score_all_layers:
        return None
    import torch

    per_layer_bytes = 8 * int(np.prod([n for dim, n in data.sizes.items() if dim != "layer"]))
    step = max(1, BATCH_BYTES // max(per_layer_bytes, 1))
    out = []
    for i in range(0, len(layer_ids), step):
        chunk = layer_ids[i : i + step]
        x = data.sel(layer=chunk).transpose("layer", "example", ...).values
        x = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(len(chunk), x.shape[1], -1))
        got = probe.score_all_layers(
            x[:, trusted], x[:, test], x[:, untrusted] if probe.offline else None
        )
        if got is None:
            return None
        out.append(np.asarray(got, dtype=np.float64))
    return np.concatenate(out)


def score_store(
    store: str | Path,
    feature: str,
    detector: str,
    hparams: dict[str, Any],
    out_scores: str | Path,
    out_auroc: str | Path,
    labels: dict[str, str],
    scoring: ScoringSettings = SCORING,
    seed: int = RUN.seed,
    transform_dir: str | Path | None = None,
    batched: bool = True,
    records=None,
) -> pd.DataFrame:
    """Fit `detector` on each layer of `feature` in `store` and score the test mix.

    The store's array `feature` has dims `(example, layer, ...)`; each layer's components are
    flattened into one vector per example (and cut to the store's `valid_mask`, if any: probe
    shift is zero-padded to a common width).

    With `transform_dir`, each of the transform's layers is first mapped through its fitted
    module (flow: u; SAE: latents) and only those layers are scored. `labels` (model, dataset,
    transform) are copied into the AUROC table. Returns that table; its last row per run is the
    layer-aggregated score (`layer = "all"`, `combination = "mean"`: mean of raw layer scores,
    spec §6.8; single-layer rows have `combination = "none"`). Each row carries the example-level
    and name-clustered intervals and p_chance, as `scoring` (config `scoring.*`) says:
    `quirkymad.stats.rows`, and `auroc_select`, the AUROC on the
    store's selection records (NaN if it has none), which the summary's honest best layer uses.

    Batched detectors score all layers at once (`_layer_scores`; same scores, tests/test_scoring.py).

    `records` (a `quirkymad.scoring.sweeps.Draw`: trusted / test / anomalous / untrusted masks over
    the store's records) replaces the MAD roles, for sweep points; no selection records then.
    """
    ds = open_store(store, variable=feature)
    probe = make_detector(detector, hparams)
    role = strings(ds, "role")
    masks = _record_roles(probe, role, store, records)
    _, test, select, anomalous, _ = masks
    kind, modules = _scored_transform(probe, detector, transform_dir)
    layer_ids = _scored_layers(ds, store, kind, modules)
    stacked = _layer_scores(ds, feature, detector, hparams, layer_ids, masks, (kind, modules),
                            batched)  # fmt: skip
    head = {**labels, "feature": feature, "detector": detector,
            "setting": "offline" if probe.offline else "online"}  # fmt: skip
    scores, table = layer_tables(
        stacked, [str(ell) for ell in layer_ids], meta_table(ds, store, role, test, anomalous),
        role, test, select, head, scoring=scoring, seed=seed,
    )  # fmt: skip
    if records is None and scoring.n_refit and is_transductive(probe):
        _refit_table(table, scores, ds, feature, detector, hparams, layer_ids, masks,
                     (kind, modules), scoring, seed, batched)  # fmt: skip
    if getattr(probe, "report_flipped", False):
        # Spec C7: cupbearer's sign (+log p) would score 1 − AUROC; logged, not tabulated.
        for layer, value in zip(table["layer"], table["auroc"]):
            log.info("%s layer %s: AUROC %.4f; flipped sign (+log p, C7) %.4f",
                     detector, layer, value, 1 - value)  # fmt: skip
    _write_parquet(scores, out_scores)
    _write_parquet(table, out_auroc)
    return table


def _refit_table(table, scores, ds, feature, detector, hparams, layer_ids, masks, transform,
                 scoring: ScoringSettings, seed: int, batched: bool) -> None:  # fmt: skip
    """Replace a transductive detector's name-clustered intervals (all records, agree,
    disagree) in `table` by refitted ones (`quirkymad.stats.refit`); `ci_name_refits` says how
    many replicates (0 where the interval resamples fixed scores)."""
    trusted, test, _, anomalous, _ = masks
    test_idx = np.flatnonzero(test)
    aggregate = table["layer"].astype(str).eq("all").any()
    keep = [feature, *([ds.attrs["valid_mask"]] if ds.attrs.get("valid_mask") else [])]
    if ds[keep].nbytes <= BATCH_BYTES:  # read the store once, not once per replicate
        ds = ds[keep].load()

    def refit_scores(draw: np.ndarray) -> np.ndarray:
        refit_masks = (trusted, test, np.zeros_like(test), anomalous, test_idx[draw])
        s = _layer_scores(ds, feature, detector, hparams, layer_ids, refit_masks, transform,
                          batched)  # fmt: skip
        return np.vstack([s, s.mean(0)]) if aggregate else s

    first = scores[scores["layer"] == scores["layer"].iloc[0]]
    rows = refit_intervals(refit_scores, first["is_anomalous"].to_numpy(bool),
                           first["name"].to_numpy(), first["agree"].to_numpy(bool),
                           scoring.n_refit, seed, scoring.name_bootstrap)  # fmt: skip
    for col in rows[0]:
        table[col] = [r[col] for r in rows]
    table["ci_name_refits"] = scoring.n_refit


def _record_roles(probe: Detector, role: np.ndarray, store, records=None) -> tuple[np.ndarray, ...]:
    """(trusted, test, select, anomalous, untrusted) masks over the store's records: the MAD
    roles, or a sweep point's draw (`records`, quirkymad/scoring/sweeps.py; no selection records)."""
    trusted, test, select = record_masks(role)
    anomalous = role == "test_anomalous"
    if records is not None:
        trusted, test, anomalous = records.trusted, records.test, records.anomalous
        select = np.zeros_like(test)
    untrusted = untrusted_mask(probe, role, test)
    if records is not None and records.untrusted is not None:
        untrusted = records.untrusted
    if trusted.sum() < 2 or test.sum() == 0:
        raise QuirkyError(
            f"{store}: need ≥2 trusted and ≥1 test records, have {trusted.sum()} / {test.sum()}"
        )
    return trusted, test, select, anomalous, untrusted


def _scored_transform(probe: Detector, detector: str, transform_dir) -> tuple[Any, dict]:
    """(kind, {layer: fitted module}) of the transform whose outputs are scored, or
    (None, {}) for raw features; a transform-only detector without its transform is an error."""
    kind, modules = None, {}
    if transform_dir is not None:
        from quirkymad.transforms.io import load_transform

        kind, modules, _ = load_transform(transform_dir)
    if probe.transform is not None and (kind is None or kind.name != probe.transform):
        raise QuirkyError(f"detector {detector} scores {probe.transform} outputs only")
    return kind, modules


def _scored_layers(ds, store, kind, modules: dict) -> list[int]:
    """The store's layers, or the transform's (each must be in the store)."""
    in_store = [int(ell) for ell in ds["layer"].values]
    layer_ids = sorted(modules) if kind is not None else in_store
    missing = sorted(set(layer_ids) - set(in_store))
    if missing:
        raise QuirkyError(f"{store}: transform layers {missing} are not in the store")
    return layer_ids


def _layer_scores(ds, feature: str, detector: str, hparams: dict[str, Any], layer_ids: list[int],
                  masks: tuple[np.ndarray, ...], transform: tuple[Any, dict],
                  batched: bool) -> np.ndarray:  # fmt: skip
    """Scores `[n_layers, n_evaluated]` of the evaluated (test | select) records. Detectors
    with a batched path (`Detector.score_all_layers`: Mahalanobis, diagonal Mahalanobis, QUE)
    score many layers at once, on the GPU when present, unless `batched` is False, the
    features are a transform's outputs or the store is masked (widths differ per layer); else
    one detector is fitted per layer. Both paths give the same scores (tests/test_scoring.py)."""
    trusted, test, select, _, untrusted = masks
    evaluated = test | select
    kind, modules = transform
    if kind is None and batched and not ds.attrs.get("valid_mask"):
        probe = make_detector(detector, hparams)
        stacked = _batched_scores(probe, ds[feature], layer_ids, trusted, untrusted, evaluated)
        if stacked is not None:
            return stacked
    per_layer = []
    for ell in layer_ids:
        x = layer_matrix(ds, feature, ell)
        det = make_detector(detector, hparams)
        if kind is not None:
            import torch

            x = kind.apply(modules[ell], torch.as_tensor(x, dtype=torch.float32))
            x = x.double().numpy()
            det.use_transform(modules[ell])
        det.fit(x[trusted], x[untrusted] if det.offline else None)
        per_layer.append(det.score(x[evaluated]))
    return np.stack(per_layer)


def score_to_directory(out_dir: str | Path, store: str | Path, **kwargs: Any) -> pd.DataFrame:
    """`score_store` into `out_dir/scores.parquet` and `out_dir/auroc.parquet`.

    One directory per scoring job (model, dataset, feature, transform, detector): both tables
    appear together, when the directory is renamed into place, and Snakemake tracks one output
    per job instead of two (a no-op dry run of the paper DAG checks ~450 fewer files).
    """
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        return score_store(
            store, out_scores=tmp / SCORES_FILE, out_auroc=tmp / AUROC_FILE, **kwargs
        )
