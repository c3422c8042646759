"""Batched torch detectors (all layers at once) vs per-layer references.

Mahalanobis against a numpy per-layer reference; diagonal Mahalanobis and QUE against the
registry's per-layer detectors (looping over layers on the CPU). Prints wall times and the
ratio measured in the same run, plus the largest relative difference of the scores. Default sizes are CPU-sized (finishes in well under a minute on
2 cores); `--gpu-size` uses the issue's d=4096, n=8000 (needs CUDA for sensible times).

    PYTHONPATH=. python bench/detectors.py [--layers L] [--d D] [--n N] [--gpu-size] [--json F]

`--json PATH` writes the figures (`ok` = every batched detector equals its reference to 1e-3
relative). `--layers` after `--gpu-size` keeps d and n but fewer layers (bench/gpu_check.sh: 4).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from quirkymad.detectors import make_detector
from quirkymad.detectors.batched import (
    default_device,
    diag_mahalanobis_all_layers,
    mahalanobis_all_layers,
    que_all_layers,
)


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
    ap.add_argument("--layers", type=int, default=None, help="default 4 (32 with --gpu-size)")
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=1000)
    ap.add_argument("--gpu-size", action="store_true", help="d=4096, n=8000, 32 layers")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args()
    if a.gpu_size:
        a.layers, a.d, a.n = a.layers or 32, 4096, 8000
        if not torch.cuda.is_available():
            print(
                "NOTE: --gpu-size without CUDA: the batched path runs on the CPU", file=sys.stderr
            )
    a.layers = a.layers or 4
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
    figures = {"device": device.type, "layers": a.layers, "d": a.d, "n": a.n, "m": a.m,
               "mahalanobis": {"seconds_reference": t_ref, "seconds_batched": t_ours,
                               "ratio": t_ref / t_ours, "max_relative_diff": float(rel)}}  # fmt: skip
    untrusted = rng.standard_normal((a.layers, a.m, a.d)) @ rng.standard_normal((a.d, a.d)) / 8
    tu = torch.from_numpy(untrusted)
    figures["diag_mahalanobis"] = _compare(
        "diag_mahalanobis",
        lambda i: make_detector("diag_mahalanobis").fit(trusted[i]).score(test[i]),
        lambda: diag_mahalanobis_all_layers(tt, ts, device=device),
        a.layers, device,
    )  # fmt: skip
    figures["que"] = _compare(
        "que",
        lambda i: make_detector("que").fit(trusted[i], untrusted[i]).score(test[i]),
        lambda: que_all_layers(tt, tu, ts, device=device),
        a.layers, device,
    )  # fmt: skip
    if device.type == "cpu":
        print("NOTE: measured on CPU; the GPU ratio needs a CUDA machine (not measured here).")
    names = ("mahalanobis", "diag_mahalanobis", "que")
    figures["ok"] = all(figures[k]["max_relative_diff"] <= 1e-3 for k in names)
    figures["headline"] = ", ".join(f"{k} {figures[k]['ratio']:.1f}x" for k in names)
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2))


def _compare(name, per_layer, batched, n_layers: int, device: torch.device) -> dict:
    """Time the per-layer detector (CPU loop) against the batched one on `device`."""
    t0 = time.perf_counter()
    ref = np.stack([per_layer(i) for i in range(n_layers)])
    t_ref = time.perf_counter() - t0
    batched()  # warm-up: kernels and solver handles, not part of the timing
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    got = batched().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t_ours = time.perf_counter() - t0
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"{name}: per-layer detectors {t_ref:.2f} s, batched ({device.type}) {t_ours:.2f} s, "
          f"ratio {t_ref / t_ours:.2f}x, max relative diff {rel:.2e}")  # fmt: skip
    return {"seconds_reference": t_ref, "seconds_batched": t_ours, "ratio": t_ref / t_ours,
            "max_relative_diff": float(rel)}  # fmt: skip


if __name__ == "__main__":
    main()
