"""The scoring stage: fit a detector per layer on trusted features, score the test mix.

Online detectors see trusted (Alice, easy, trusted names) records only; offline ones also see
the unlabelled untrusted set. Writes per-example scores and one long AUROC table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quirkymad.atomic import atomic_path
from quirkymad.detectors import make_detector
from quirkymad.errors import QuirkyError
from quirkymad.metrics import auroc, average_precision, bootstrap_ci
from quirkymad.store import open_store, strings

TEST_ROLES = ("test_normal", "test_anomalous")
EASY_UNTRUSTED_ROLES = ("untrusted_alice", "untrusted_bob")


def _write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def auroc_rows(scores: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """One row per layer of `scores` (columns layer, score, is_anomalous, agree)."""
    rows = []
    for layer, g in scores.groupby("layer", sort=False):
        y, s = g["is_anomalous"].to_numpy(), g["score"].to_numpy()
        lo, hi = bootstrap_ci(y, s, n_boot=n_boot, seed=seed)
        agree = g["agree"].to_numpy(dtype=bool)
        rows.append(
            {
                "layer": str(layer),
                "auroc": auroc(y, s),
                "ci_low": lo,
                "ci_high": hi,
                "auroc_agree": auroc(y[agree], s[agree]),
                "auroc_disagree": auroc(y[~agree], s[~agree]),
                "average_precision": average_precision(y, s),
                "n_normal": int((~y.astype(bool)).sum()),
                "n_anomalous": int(y.astype(bool).sum()),
            }
        )
    return rows


def score_store(
    store: str | Path,
    feature: str,
    detector: str,
    hparams: dict[str, Any],
    out_scores: str | Path,
    out_auroc: str | Path,
    labels: dict[str, str],
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Fit `detector` on each layer of `feature` in `store` and score the test mix.

    The store's array `feature` has dims `(example, layer, ...)`; each layer's components are
    flattened into one vector per example (and cut to the store's `valid_mask`, if any).

    `labels` (model, dataset, transform) are copied into the AUROC table. Returns that table;
    its last row per run is the layer-aggregated score (`layer = "all"`: mean of raw layer
    scores, spec §6.8).
    """
    ds = open_store(store, variable=feature)
    role = strings(ds, "role")
    trusted = role == "trusted"
    test = np.isin(role, TEST_ROLES)
    probe = make_detector(detector, hparams)
    # Offline detectors see an unlabelled set: the test mix (spec C1 default) or easy untrusted.
    if getattr(probe.params, "untrusted", "test") == "easy":
        untrusted = np.isin(role, EASY_UNTRUSTED_ROLES)
    else:
        untrusted = test
    if trusted.sum() < 2 or test.sum() == 0:
        raise QuirkyError(
            f"{store}: need ≥2 trusted and ≥1 test records, have {trusted.sum()} / {test.sum()}"
        )
    meta = pd.DataFrame(
        {
            "example": strings(ds, "example")[test],
            "character": strings(ds, "character")[test],
            "is_anomalous": role[test] == "test_anomalous",
            "agree": ds["agree"].values[test].astype(bool),
        }
    )
    per_layer = []
    data = ds[feature]
    # Features of different length per layer (probe shift) are padded; the store names the
    # mask of each layer's valid components in attribute `valid_mask`.
    mask_name = ds.attrs.get("valid_mask")
    for li in range(ds.sizes["layer"]):
        x = np.asarray(data.isel(layer=li).values, dtype=np.float64)
        x = x.reshape(x.shape[0], -1)
        if mask_name:
            x = x[:, np.asarray(ds[mask_name].isel(layer=li).values, dtype=bool).reshape(-1)]
        det = make_detector(detector, hparams)
        det.fit(x[trusted], x[untrusted] if det.offline else None)
        per_layer.append(det.score(x[test]))
    stacked = np.stack(per_layer)  # [n_layers, n_test]
    layers = [str(int(ell)) for ell in ds["layer"].values]
    frames = [meta.assign(layer=ell, score=s) for ell, s in zip(layers, stacked)]
    frames.append(meta.assign(layer="all", score=stacked.mean(0)))
    scores = pd.concat(frames, ignore_index=True)
    table = pd.DataFrame(auroc_rows(scores, n_boot=n_boot, seed=seed))
    setting = "offline" if probe.offline else "online"
    head = {**labels, "feature": feature, "detector": detector, "setting": setting}
    for k, v in reversed(head.items()):
        table.insert(0, k, v)
    _write_parquet(scores, out_scores)
    _write_parquet(table, out_auroc)
    return table
