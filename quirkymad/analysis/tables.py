"""Separation tables from an activation store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.analysis.separation import (
    geometric_mean,
    hidden_separation,
    logit_quantities,
)
from quirkymad.core.atomic import atomic_path
from quirkymad.core.integrity import write_parquet
from quirkymad.core.store import open_store, strings


def separation_tables(
    store: str | Path, labels: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per_layer, summary) for one activation store.

    per_layer: `labels` + layer, S, R, n_alice, n_bob. summary: `labels` + the layer-averaged
    S (geometric mean), mean R, and the logit quantities of `logit_quantities`.
    """
    ds = open_store(store, variable="activations")
    role = strings(ds, "role")
    alice, bob = role == "test_normal", role == "test_anomalous"
    rows = []
    for li, layer in enumerate(ds["layer"].values):
        x = np.asarray(ds["activations"].isel(layer=li).values, dtype=np.float64)
        s, r = hidden_separation(x[alice], x[bob])
        rows.append({**labels, "layer": int(layer), "S": s, "R": r,
                     "n_alice": int(alice.sum()), "n_bob": int(bob.sum())})  # fmt: skip
    per_layer = pd.DataFrame(rows)
    lo = np.asarray(ds["log_odds"].values, dtype=np.float64)
    summary = pd.DataFrame(
        [
            {
                **labels,
                "S_layer_mean": geometric_mean(per_layer["S"].to_numpy()),
                "R_layer_mean": float(per_layer["R"].mean()),
                **logit_quantities(lo[alice], lo[bob]),
            }
        ]
    )
    return per_layer, summary


def write_separation(store, labels, out_per_layer, out_summary) -> None:
    per_layer, summary = separation_tables(store, labels)
    for df, path in ((per_layer, out_per_layer), (summary, out_summary)):
        with atomic_path(path) as tmp:
            write_parquet(df, tmp)
