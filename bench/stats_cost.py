"""CPU cost of the AUROC statistics (issue 18) against the scoring stage they ride on.

Builds a store at the default run's sizes (config.yaml: 200 records per MAD role, 12 held-out
names per side, SmolLM2-135M's 30 layers; d = 576 for activations, 9 for per-head attribution),
then, per detector, measures the process CPU time of `score_store` with the statistics off
(n_boot = n_perm = 0: the scoring work) and on (the defaults: 1000 resamples for each interval,
1000 name relabellings). Also times, on the same job's 31 rows, the example-level bootstrap as
it was before issue 18 (a Python loop of 1000 sorts per row) as the naive baseline.

    .venv/bin/python bench/stats_cost.py [--repeat 3] [--dims 576 9] [--detectors ...]

Prints per detector and feature width: scoring CPU s, statistics CPU s, their ratio, and the old
loop's CPU s. Not a test: timings depend on the machine. Process start-up and imports (several
CPU seconds per real job) are not counted, so the ratio overstates the share of a real job.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.core.roles import MAD_ROLES
from quirkymad.core.store import write_store
from quirkymad.scoring.stage import score_store
from quirkymad.stats.settings import ScoringSettings

N_PER_ROLE, N_LAYERS, N_NAMES = 200, 30, 12
DETECTORS = ["mahalanobis", "diag_mahalanobis", "lof", "isolation_forest", "que"]


def make_store(path: Path, d: int) -> Path:
    rng = np.random.default_rng(0)
    roles = list(MAD_ROLES)
    role = np.repeat(roles, N_PER_ROLE)
    n = len(role)
    character = np.where(np.char.find(role.astype(str), "anomalous") >= 0, "Bob", "Alice")
    character[role == "untrusted_bob"] = "Bob"
    name = np.array([f"{c}{i % N_NAMES}" for i, c in enumerate(character)])
    x = rng.standard_normal((n, N_LAYERS, d)).astype(np.float32)
    x[role == "test_anomalous", :, :4] += 0.5
    meta = pd.DataFrame({"id": [f"e{i}" for i in range(n)], "role": role,
                         "character": character, "name": name, "agree": rng.random(n) < 0.5})  # fmt: skip
    write_store(path, {"f": (("example", "layer", "d"), x)}, meta, list(range(1, N_LAYERS + 1)), {})
    return path


def cpu(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def old_loop_bootstrap(y: np.ndarray, s: np.ndarray, n_boot: int = 1000) -> None:
    """The example-level bootstrap before issue 18 (quirkymad/stats/metrics.py at 0812e90)."""
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    rng = np.random.default_rng(0)
    for _ in range(n_boot):
        p, q = s[rng.choice(pos, len(pos))], s[rng.choice(neg, len(neg))]
        allv = np.concatenate([q, p])
        order = np.argsort(allv, kind="mergesort")
        ranks = np.empty(len(order))
        ranks[order] = np.arange(1, len(order) + 1)
        _, inv, counts = np.unique(allv, return_inverse=True, return_counts=True)
        ranks = (np.bincount(inv, weights=ranks) / counts)[inv]
        _ = (ranks[len(q) :].sum() - len(p) * (len(p) + 1) / 2) / (len(p) * len(q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dims", type=int, nargs="+", default=[576, 9])
    ap.add_argument("--detectors", nargs="+", default=DETECTORS)
    args = ap.parse_args()
    labels = {"model": "m", "dataset": "d", "transform": "none"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(
            "d    detector           scoring_cpu_s  stats_cpu_s  ratio  old_loop_cpu_s", flush=True
        )
        for d in args.dims:
            store = make_store(tmp / f"s{d}.zarr", d)
            for det in args.detectors:

                def run(n_boot, n_perm, det=det, store=store):
                    score_store(
                        store,
                        "f",
                        det,
                        {},
                        tmp / "s.parquet",
                        tmp / "a.parquet",
                        labels,
                        scoring=ScoringSettings(
                            n_bootstrap=n_boot, n_permutations=n_perm, n_refit=0
                        ),
                    )

                base = min(cpu(lambda: run(0, 0)) for _ in range(args.repeat))
                full = min(cpu(lambda: run(1000, 1000)) for _ in range(args.repeat))
                scores = pd.read_parquet(tmp / "s.parquet")
                y = scores["is_anomalous"].to_numpy(bool)
                old = cpu(lambda sc=scores, y=y: [old_loop_bootstrap(y[: (sc["layer"] == "all").sum()], g["score"].to_numpy()) for _, g in sc.groupby("layer")])  # fmt: skip
                stats = full - base
                print(
                    f"{d:<4} {det:<18} {base:13.2f}  {stats:11.2f}  {stats / base:5.2f}  {old:14.2f}"
                )


if __name__ == "__main__":
    main()
