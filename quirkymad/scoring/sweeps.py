"""Axes of difficulty at run time (issue 20; docs/sweeps.md): one scoring job per sweep point.

A sweep names an axis (`AXES`), its values, and the features × detectors it scores. Each point
(model, dataset, axis, feature, detector, value) is one job that picks its trusted, untrusted
and test records from the store's `role` and `bucket` coordinates (`point_draws`), scores them
with `quirkymad.scoring.stage.score_store` (one call per draw) and averages the draws' AUROC
tables (`average_draws`). Sweeps never fine-tune or extract again: the records a sweep needs
beyond the MAD roles (trusted records of medium / hard difficulty, test records of easy /
medium difficulty) are extracted with the store when a sweep needs them
(`quirkymad.workflow.sweeps.extra_roles`; `quirkymad.datasets.selection.sweep_roles`).

What the config asks for (the points, their settings, the checks at plan time) is
`quirkymad/workflow/sweeps.py`; this module holds what a point is and how it is scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import write_parquet
from quirkymad.core.roles import EASY_UNTRUSTED_ROLES, TEST_ROLES
from quirkymad.stats.settings import ScoringSettings

AXES = ("n_trusted", "untrusted", "contamination", "trusted_difficulty", "test_difficulty")
# Axes whose points draw records at random (averaged over `draws`), and those with a `size`.
DRAWN_AXES = ("n_trusted", "contamination", "trusted_difficulty")
SIZED_AXES = ("contamination", "trusted_difficulty")

# Store roles of each difficulty band (quirkymad/datasets/selection.py: SWEEP_ROLES). The easy trusted band is the
# MAD role `trusted`; the hard test band is the test mix.
TRUSTED_BANDS = {"easy": ("trusted",), "medium": ("trusted_medium",), "hard": ("trusted_hard",)}


TEST_BANDS = {
    "easy": ("test_normal_easy", "test_anomalous_easy"),
    "medium": ("test_normal_medium", "test_anomalous_medium"),
    "hard": TEST_ROLES,
}


# Extra roles extracted when an axis is swept (every band of the axis, whatever its values, so
# that adding a value never re-extracts).
AXIS_ROLES = {
    "trusted_difficulty": (*TRUSTED_BANDS["medium"], *TRUSTED_BANDS["hard"]),
    "test_difficulty": (*TEST_BANDS["easy"], *TEST_BANDS["medium"]),
}


def value_label(value: Any) -> str:
    """A sweep value as it appears in paths and tables: 16, all, 0.01, easy."""
    if isinstance(value, bool):
        raise QuirkyError(f"sweep value {value!r} is not a number or a name")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _n(counts: Mapping[str, int], roles) -> int:
    return sum(int(counts.get(r, 0)) for r in roles)


def _holds(counts: Mapping[str, int]) -> str:
    held = ", ".join(f"{r} {n}" for r, n in sorted(counts.items()) if r)
    return f"the store holds {held}"


def contamination_split(size: int, fraction: float) -> tuple[int, int]:
    """(normal, anomalous) untrusted records of a set of `size` with `fraction` anomalous."""
    k = int(round(fraction * size))
    return size - k, k


def point_sizes(counts: Mapping[str, int], axis: str, value: Any, size: int | None = None):
    """The set sizes of one point given the store's records per role; QuirkyError (what the
    store holds) when it cannot serve the point. Returns a dict of sizes."""
    if axis not in AXES:
        raise QuirkyError(f"unknown axis {axis!r} (axes: {', '.join(AXES)})")
    pool_trusted = _n(counts, ("trusted",))
    if axis == "n_trusted":
        n = pool_trusted if value == "all" else int(value)
        if n > pool_trusted or n < 2:
            raise QuirkyError(f"{n} trusted records asked, {_holds(counts)}")
        return {"trusted": n, "pool": pool_trusted}
    if axis == "untrusted":
        if value == "easy" and _n(counts, EASY_UNTRUSTED_ROLES) < 2:
            raise QuirkyError(f"easy untrusted needs ≥2 untrusted records, {_holds(counts)}")
        return {"trusted": pool_trusted}
    if axis == "contamination":
        na, nb = _n(counts, ("untrusted_alice",)), _n(counts, ("untrusted_bob",))
        n = min(na, nb) if size is None else int(size)
        normal, anomalous = contamination_split(n, float(value))
        if normal > na or anomalous > nb or n < 2:
            raise QuirkyError(f"{normal} normal + {anomalous} anomalous untrusted records asked"
                              f" (size {n}), {_holds(counts)}")  # fmt: skip
        return {"trusted": pool_trusted, "normal": normal, "anomalous": anomalous}
    if axis == "trusted_difficulty":
        pools = {b: _n(counts, r) for b, r in TRUSTED_BANDS.items()}
        n = min(pools.values()) if size is None else int(size)
        pool = sum(pools.values()) if value == "all" else pools[value]
        if n > pool or n < 2:
            raise QuirkyError(f"{n} trusted records of band {value} asked, {_holds(counts)}")
        return {"trusted": n, "pool": pool}
    if axis == "test_difficulty":
        normal, anomalous = TEST_BANDS[value]
        n = min(_n(counts, (normal,)), _n(counts, (anomalous,)))
        if n < 1:
            raise QuirkyError(f"no test records of band {value}, {_holds(counts)}")
        return {"trusted": pool_trusted, "test": 2 * n}
    raise AssertionError(axis)


@dataclass(frozen=True)
class Draw:
    """Boolean masks over the store's records: what one draw of a point fits and scores.
    `untrusted` None = the detector's own choice (its `untrusted` parameter: the test mix or
    the easy untrusted records), as in the main scoring jobs."""

    trusted: np.ndarray
    test: np.ndarray
    anomalous: np.ndarray
    untrusted: np.ndarray | None = None


def _mask(n: int, idx) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    m[np.asarray(idx, dtype=np.int64)] = True
    return m


def nested_subsets(pool: np.ndarray, sizes, draws: int, seed: int) -> dict[int, list[np.ndarray]]:
    """For each size, `draws` subsets of `pool` (one if the size is the whole pool); draw d of
    every size is a prefix of the same seeded permutation, so the subsets are nested."""
    perms = [np.random.default_rng([seed, 20, d]).permutation(pool) for d in range(draws)]
    return {n: [pool.copy()] if n >= len(pool) else [np.sort(p[:n]) for p in perms] for n in sizes}


def point_draws(role: np.ndarray, axis: str, value: Any, settings: Mapping[str, Any]) -> list[Draw]:
    """The draws of one point from the store's `role` coordinate (`settings`:
    `point_settings`). Raises QuirkyError naming what the store holds if it cannot serve it."""
    role = np.asarray(role, dtype=object)
    counts = {str(r): int(n) for r, n in zip(*np.unique(role, return_counts=True))}
    sizes = point_sizes(counts, axis, value, settings.get("size"))
    n_rec, seed, draws = len(role), int(settings["seed"]), int(settings.get("draws", 1))
    where = {r: np.flatnonzero(role == r) for r in counts}

    def idx(*roles) -> np.ndarray:
        return np.sort(np.concatenate([where.get(r, np.zeros(0, np.int64)) for r in roles]))

    trusted = _mask(n_rec, idx("trusted"))
    test = _mask(n_rec, idx(*TEST_ROLES))
    anomalous = role == "test_anomalous"
    if axis == "n_trusted":
        subsets = nested_subsets(idx("trusted"), [sizes["trusted"]], draws, seed)
        return [Draw(_mask(n_rec, s), test, anomalous) for s in subsets[sizes["trusted"]]]
    if axis == "untrusted":
        # none: the detector sees no data beyond the trusted set (it is online).
        untrusted = {"none": trusted, "easy": _mask(n_rec, idx(*EASY_UNTRUSTED_ROLES)),
                     "test": test}[value]  # fmt: skip
        return [Draw(trusted, test, anomalous, untrusted)]
    if axis == "contamination":
        alice, bob = idx("untrusted_alice"), idx("untrusted_bob")
        out = []
        for d in range(draws):
            rng = np.random.default_rng([seed, 21, d])
            chosen = [rng.permutation(alice)[: sizes["normal"]],
                      rng.permutation(bob)[: sizes["anomalous"]]]  # fmt: skip
            out.append(Draw(trusted, test, anomalous, _mask(n_rec, np.concatenate(chosen))))
            if sizes["normal"] == len(alice) and sizes["anomalous"] == len(bob):
                break  # every draw is the whole pool
        return out
    if axis == "trusted_difficulty":
        bands = TRUSTED_BANDS if value == "all" else {value: TRUSTED_BANDS[value]}
        pool = idx(*(r for roles in bands.values() for r in roles))
        subsets = nested_subsets(pool, [sizes["trusted"]], draws, seed)
        return [Draw(_mask(n_rec, s), test, anomalous) for s in subsets[sizes["trusted"]]]
    if axis == "test_difficulty":
        normal, bad = TEST_BANDS[value]
        n = sizes["test"] // 2
        test_b = _mask(n_rec, np.concatenate([where[normal][:n], where[bad][:n]]))
        return [Draw(trusted, test_b, role == bad)]
    raise AssertionError(axis)


# Columns that name a point's rows (one group per layer).
LABELS = ("axis", "value", "model", "dataset", "transform", "feature", "detector", "setting",
          "layer")  # fmt: skip


# Columns averaged over a point's draws (the rest of a row is the same for every draw).
AVERAGED = ("auroc", "ci_low_name", "ci_high_name", "ci_low_example", "ci_high_example",
            "average_precision", "auroc_agree", "auroc_disagree")  # fmt: skip


def average_draws(table):
    """One row per layer: the mean over draws of `AVERAGED`, the draws' AUROC standard
    deviation (`auroc_sd_draws`, 0 for one draw) and their number (`n_draws`)."""
    keys = [c for c in LABELS if c in table]
    grouped = table.groupby(keys, sort=False, dropna=False)
    out = grouped[list(AVERAGED)].mean().reset_index()
    out["auroc_sd_draws"] = grouped["auroc"].std(ddof=0).to_numpy()
    out["n_draws"] = grouped.size().to_numpy()
    for col in ("n_trusted", "n_untrusted", "n_normal", "n_anomalous"):
        if col in table:
            out[col] = grouped[col].first().to_numpy()
    return out


def score_point(
    store,
    out_dir,
    feature: str,
    detector: str,
    hparams: Mapping[str, Any],
    settings: Mapping[str, Any],
    labels: Mapping[str, str],
    n_perm: int = 0,
):
    """Score one sweep point into `out_dir` (draws.parquet: every draw's AUROC rows;
    auroc.parquet: their average, `average_draws`). p_chance is skipped (`n_perm` = 0): the
    sweep figures show the AUROC and its interval only."""
    import tempfile
    from pathlib import Path

    import pandas as pd

    from quirkymad.core.atomic import atomic_path
    from quirkymad.core.store import open_store, strings
    from quirkymad.core.tables import AUROC_FILE
    from quirkymad.scoring.stage import score_store

    axis, value = settings["axis"], settings["value"]
    scoring = ScoringSettings(n_bootstrap=settings["n_bootstrap"], n_permutations=n_perm,
                              name_bootstrap=settings["name_bootstrap"])  # fmt: skip
    role = strings(open_store(store, variable=feature), "role")
    try:
        draws = point_draws(role, axis, value, settings)
    except QuirkyError as exc:
        raise QuirkyError(f"sweeps.{axis}.values: {value_label(value)}: {exc} ({store})") from None
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for d, draw in enumerate(draws):
            t = score_store(
                store, feature, detector, dict(hparams), Path(tmp) / f"s{d}.parquet",
                Path(tmp) / f"a{d}.parquet", labels={**labels}, scoring=scoring,
                seed=int(settings["seed"]), records=draw,
            )  # fmt: skip
            untrusted = draw.untrusted if draw.untrusted is not None else draw.test
            if (t["setting"] == "online").all():
                untrusted = np.zeros(0, dtype=bool)  # online detectors see no untrusted data
            frames.append(t.assign(draw=d, n_trusted=int(draw.trusted.sum()),
                                   n_untrusted=int(untrusted.sum())))  # fmt: skip
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "value", value_label(value))
    table.insert(0, "axis", axis)
    summary = average_draws(table)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        write_parquet(table, tmp / "draws.parquet")
        write_parquet(summary, tmp / AUROC_FILE)
    return summary


def collect_sweep(point_dirs, out_parquet, out_csv, order: list[str]):
    """Concatenate the points' averaged tables of one axis, values in config order."""
    import pandas as pd

    from quirkymad.core.atomic import atomic_path
    from quirkymad.core.tables import read_table

    df = pd.concat([read_table(p) for p in point_dirs], ignore_index=True)
    df["value_order"] = df["value"].map({v: i for i, v in enumerate(order)})
    df = df.sort_values(["model", "dataset", "feature", "detector", "value_order"], kind="stable")
    df = df.reset_index(drop=True)
    with atomic_path(out_parquet) as tmp:
        write_parquet(df, tmp)
    with atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df
