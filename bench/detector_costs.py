"""What a detector adds to a run: its batched all-layer scoring time at one feature store's
shape, against Mahalanobis (already in every run) measured in the same process.

Default shape = the default run's activation store per dataset: SmolLM2-135M's 30 layers,
d = 576, 200 trusted records (`extract.max_per_role`) and a 400-record test mix (also the
offline detectors' untrusted set, `untrusted: test`). Data are correlated Gaussians with a
fast-decaying spectrum, shifted on half of the test mix.

    PYTHONPATH=. python bench/detector_costs.py [--layers 30] [--d 576] [--n 200] [--m 400]
        [--threads 1] [DETECTOR ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from quirkymad.detectors import make_detector


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("detectors", nargs="*",
                    default=["pca_mahalanobis", "likelihood_ratio", "gaussian_em", "que"])  # fmt: skip
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--d", type=int, default=576)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--m", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    mix = rng.standard_normal((a.d, a.d)) * np.geomspace(1, 1e-3, a.d)[:, None]
    trusted = torch.from_numpy(rng.standard_normal((a.layers, a.n, a.d)) @ mix)
    test = rng.standard_normal((a.layers, a.m, a.d)) @ mix
    test[:, a.m // 2 :] += 0.05 * rng.standard_normal(a.d)
    test = torch.from_numpy(test)

    def timed(name: str) -> float:
        det = make_detector(name, {})
        t0 = time.perf_counter()
        det.score_all_layers(trusted, test, test if det.offline else None)
        return time.perf_counter() - t0

    base = timed("mahalanobis")
    print(f"threads={a.threads} L={a.layers} d={a.d} n={a.n} m={a.m}")
    print(f"mahalanobis (baseline): {base:.2f} s")
    for name in a.detectors:
        t = timed(name)
        print(f"{name}: {t:.2f} s = {t / base:.2f}x mahalanobis")


if __name__ == "__main__":
    main()
