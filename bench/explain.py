"""CPU cost of one explanation job (activations × Mahalanobis) at the default run's size,
against the scoring job it explains, measured in the same run.

Synthetic activations of SmolLM2-135M's shape (30 layers, d = 576; `--per-role` records per
MAD role: trusted, untrusted Alice/Bob, test normal/anomalous), a planted Bob direction at one
layer. Times (process CPU seconds and wall) `score_to_directory` (the scoring job: batched
Mahalanobis + bootstrap AUROC) and `explain_store` (per-layer eigendecomposition, the split,
the tables; with `--model-dir` also the logit lens through that prepared model, e.g.
results/models/smollm2-135m). Prints both and their ratio.

    PYTHONPATH=. python bench/explain.py [--per-role 200] [--model-dir DIR] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from quirkymad.core.roles import MAD_ROLES
from quirkymad.core.store import write_store
from quirkymad.explain.stage import ExplainSettings, explain_store
from quirkymad.scoring.stage import score_to_directory
from quirkymad.stats.settings import ScoringSettings


def synthetic_store(path: Path, per_role: int, n_layers: int, d: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    roles = np.repeat(MAD_ROLES, per_role)
    n = len(roles)
    acts = rng.standard_normal((n, n_layers, d)).astype(np.float32)
    acts *= rng.uniform(0.2, 3.0, d).astype(np.float32)
    u = rng.standard_normal(d).astype(np.float32)
    acts[roles == "test_anomalous", n_layers // 2] += 3 * u / np.linalg.norm(u)
    meta = pd.DataFrame({
        "id": [f"r{i}" for i in range(n)], "role": roles,
        "character": np.where(np.char.find(roles.astype(str), "anomalous") >= 0, "Bob", "Alice"),
        "agree": rng.random(n) < 0.5,
    })  # fmt: skip
    write_store(path, {"activations": (("example", "layer", "d_model"), acts)}, meta,
                list(range(1, n_layers + 1)), {})  # fmt: skip


def timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-role", type=int, default=200)
    p.add_argument("--layers", type=int, default=30)
    p.add_argument("--d", type=int, default=576)
    p.add_argument("--model-dir", help="prepared model for the logit lens (optional)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (a job's share)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synthetic_store(tmp / "a.zarr", args.per_role, args.layers, args.d)
        labels = {"model": "m", "dataset": "d", "transform": "none"}
        score_cpu, score_wall = timed(
            lambda: score_to_directory(
                tmp / "s",
                tmp / "a.zarr",
                feature="activations",
                detector="mahalanobis",
                hparams={"rcond": 1e-3},
                labels=labels,
                scoring=ScoringSettings(n_bootstrap=1000),
            )
        )
        settings = ExplainSettings(top_k=5, layers="all", flag_quantile=0.95, n_tokens=8)
        explain_cpu, explain_wall = timed(lambda: explain_store(
            tmp / "a.zarr", tmp / "s", "activations", "mahalanobis", {"rcond": 1e-3},
            settings, tmp / "e", {"model": "m", "dataset": "d"},
            model_dir=args.model_dir))  # fmt: skip
        rows = len(pd.read_parquet(tmp / "e" / "directions.parquet"))
    print(f"shape: {args.layers} layers x d={args.d}, {args.per_role} records per role "
          f"({len(MAD_ROLES) * args.per_role} records), torch threads {args.threads}, "
          f"logit lens {'on: ' + args.model_dir if args.model_dir else 'off'}")  # fmt: skip
    print(f"score_detector (baseline): CPU {score_cpu:.2f} s, wall {score_wall:.2f} s")
    print(f"explain_scores:            CPU {explain_cpu:.2f} s, wall {explain_wall:.2f} s "
          f"({rows} direction rows)")  # fmt: skip
    print(f"ratio explain / score: CPU {explain_cpu / score_cpu:.2f}x")


if __name__ == "__main__":
    main()
