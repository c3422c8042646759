"""CPU cost of the refitted intervals of transductive detectors (issue 28, item 2).

A store at the default run's sizes (bench/stats_cost.py's: 200 records per MAD role, 12
held-out names per side; here the default run's 10 read layers, d = 576 for activations and 9
for per-head attribution). Per transductive detector it measures the process CPU time of
`score_store` with the interval from fixed scores (`n_refit = 0`, the baseline: the scoring job
as it was) and with `n_refit` refitted replicates, and prints both and their ratio.

    .venv/bin/python bench/refit_cost.py [--repeat 2] [--n-refit 100] [--dims 576 9]

Not a test: timings depend on the machine (and on load: the shared 2-core machine is noisy).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import stats_cost  # noqa: E402

from quirkymad.scoring.stage import score_store  # noqa: E402
from quirkymad.stats.settings import ScoringSettings  # noqa: E402

DETECTORS = ["que", "likelihood_ratio", "gaussian_em"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--n-refit", type=int, default=ScoringSettings().n_refit)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--dims", type=int, nargs="+", default=[576, 9])
    ap.add_argument("--detectors", nargs="+", default=DETECTORS)
    args = ap.parse_args()
    stats_cost.N_LAYERS = args.layers
    labels = {"model": "m", "dataset": "d", "transform": "none"}
    print("d    detector           fixed_cpu_s  refit_cpu_s  ratio", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for d in args.dims:
            store = stats_cost.make_store(tmp / f"s{d}.zarr", d)
            for det in args.detectors:

                def run(n_refit, det=det, store=store):
                    scoring = ScoringSettings(n_refit=n_refit)
                    score_store(store, "f", det, {}, tmp / "s.parquet", tmp / "a.parquet",
                                labels, scoring=scoring)  # fmt: skip

                fixed = min(stats_cost.cpu(lambda: run(0)) for _ in range(args.repeat))
                refit = min(stats_cost.cpu(lambda: run(args.n_refit)) for _ in range(args.repeat))
                print(f"{d:<4} {det:<18} {fixed:11.2f}  {refit:11.2f}  {refit / fixed:5.1f}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
