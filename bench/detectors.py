"""Batched torch Mahalanobis (all layers at once) vs a numpy per-layer reference.

Prints wall times and the ratio measured in the same run, plus the largest relative
difference of the scores. Default sizes are CPU-sized (finishes in well under a minute on
2 cores); `--gpu-size` uses the issue's d=4096, n=8000 (needs CUDA for sensible times).

    PYTHONPATH=. python bench/detectors.py [--layers L] [--d D] [--n N] [--gpu-size]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from quirkymad.detectors.batched import default_device, mahalanobis_all_layers


def numpy_reference(trusted: np.ndarray, test: np.ndarray, rcond: float) -> np.ndarray:
    """Per-layer numpy Mahalanobis: `[L, n, d], [L, m, d] -> [L, m]`."""
    out = []
    for x, y in zip(trusted, test, strict=True):
        mu = x.mean(0)
        cov = np.cov(x, rowvar=False)
        prec = np.linalg.pinv(cov, rcond=rcond, hermitian=True)
        yc = y - mu
        out.append(np.einsum("md,de,me->m", yc, prec, yc) / x.shape[1])
    return np.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--gpu-size", action="store_true", help="d=4096, n=8000, 32 layers")
    a = ap.parse_args()
    if a.gpu_size:
        a.layers, a.d, a.n = 32, 4096, 8000
    rng = np.random.default_rng(0)
    trusted = rng.standard_normal((a.layers, a.n, a.d)) @ rng.standard_normal((a.d, a.d)) / 8
    test = rng.standard_normal((a.layers, a.m, a.d)) @ rng.standard_normal((a.d, a.d)) / 8

    t0 = time.perf_counter()
    ref = numpy_reference(trusted, test, 1e-3)
    t_ref = time.perf_counter() - t0

    device = default_device()
    tt, ts = torch.from_numpy(trusted), torch.from_numpy(test)
    mahalanobis_all_layers(tt[:1, :64, :8], ts[:1, :8, :8], device=device)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    got = mahalanobis_all_layers(tt, ts, 1e-3, device=device).numpy()
    t_ours = time.perf_counter() - t0

    rel = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"device={device.type} threads={torch.get_num_threads()} L={a.layers} d={a.d} n={a.n}")
    print(f"numpy per-layer reference: {t_ref:.2f} s")
    print(f"torch batched ({device.type}):     {t_ours:.2f} s")
    print(f"ratio reference/ours: {t_ref / t_ours:.2f}x   max relative diff: {rel:.2e}")
    if device.type == "cpu":
        print("NOTE: measured on CPU; the GPU ratio needs a CUDA machine (not measured here).")


if __name__ == "__main__":
    main()
