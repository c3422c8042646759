"""Transforms (flow, SAE) fitted on CUDA vs the CPU path, same data and seed (issue 31).

For each kind, on the same random float32 activations `[n, d]` and the same seed: one fit on
the CPU (the baseline: the CPU path as the workflow runs it) and two on `--device` (CUDA, or the
CPU again for a smoke run). Figures: wall times and the ratio CPU / device; the relative
difference of the final train loss device vs CPU (pass: <= `TOLERANCE`) and device vs device
(pass: <= `DETERMINISM`); on CUDA, the peak allocated memory of a fit against the planner's
estimate (`quirkymad/transforms/sizing.py`, without its CUDA-context term; pass: measured <=
estimate). Then one SAE fit at the paper's size (d=4096, 8x = 32768 latents, 1875 trusted
records, `--paper-steps` of its 2000 steps) on the device alone: seconds per step, peak memory
against the estimate.

    PYTHONPATH=. python bench/transforms.py [--device cuda|cpu] [--n N] [--d D] [--steps S]
                                            [--paper-steps S] [--json F]

Default sizes fit CUDA in well under a minute (bench/gpu_check.sh runs it); `--json PATH`
writes the figures with `ok`. Without CUDA, `--device cuda` exits 2 with one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from quirkymad.transforms import TRANSFORMS
from quirkymad.transforms.sizing import CUDA_CONTEXT_BYTES, transform_fit

TOLERANCE = 1e-2
"""Max relative |loss(device) − loss(CPU)|: float32 on both, same batches and initial weights;
only reduction order differs, which Adam amplifies over the steps (a stated guess)."""
DETERMINISM = 1e-6
"""Max relative |loss(fit 1) − loss(fit 2)| of two fits on the same device (a stated guess:
cuBLAS is deterministic for fixed shapes on one GPU; no atomics in these modules' kernels)."""


def spec(kind: str, steps: int, expansion: int = 8) -> dict[str, Any]:
    """Hyperparameters as the paper config's (config/paper.yaml), `steps` aside."""
    if kind == "sae":
        return {"expansion": expansion, "k": 32, "steps": steps, "batch_size": 256, "lr": 1e-3}
    return {"transforms": 2, "hidden": 512, "steps": steps, "batch_size": 256, "lr": 1e-3}


def fit_once(kind: str, hp: dict[str, Any], x: torch.Tensor, device: torch.device):
    """(final train loss, seconds, peak allocated bytes or 0) of one fit of `x` on `device`."""
    t = TRANSFORMS[kind]
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    xd = x.to(device)
    module = t.fit(xd, t.Params(**hp, seed=0))
    with torch.no_grad():
        loss = float(t.loss(module, xd))
    peak = 0
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    return loss, time.perf_counter() - t0, peak


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def compare(kind: str, x: torch.Tensor, steps: int, device: torch.device) -> dict[str, Any]:
    """CPU fit vs two `device` fits of `kind` on `x`."""
    hp = spec(kind, steps)
    for dev in {torch.device("cpu"), device}:  # warm-up: imports, CUDA context, cuBLAS handles
        fit_once(kind, {**hp, "steps": 2}, x[:64], dev)
    cpu_loss, cpu_s, _ = fit_once(kind, hp, x, torch.device("cpu"))
    (a, a_s, peak), (b, _, _) = (fit_once(kind, hp, x, device) for _ in range(2))
    est = transform_fit(kind, hp, x.shape[1], 1, len(x), len(x), on_gpu=True)
    budget = est.gpu_bytes - CUDA_CONTEXT_BYTES
    out = {"cpu_s": cpu_s, "device_s": a_s, "ratio": cpu_s / a_s, "loss_cpu": cpu_loss,
           "loss_device": a, "rel_vs_cpu": rel(a, cpu_loss), "rel_repeat": rel(b, a),
           "peak_bytes": peak, "estimate_bytes": budget}  # fmt: skip
    out["ok"] = (out["rel_vs_cpu"] <= TOLERANCE and out["rel_repeat"] <= DETERMINISM
                 and peak <= budget)  # fmt: skip
    return out


def paper_sae(device: torch.device, steps: int) -> dict[str, Any]:
    """One layer of the paper's SAE (d=4096, 32768 latents, 1875 trusted) on `device`."""
    n, d, hp = 1875, 4096, spec("sae", steps)
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(1))
    loss, secs, peak = fit_once("sae", hp, x, device)
    budget = transform_fit("sae", hp, d, 1, n, n, on_gpu=True).gpu_bytes - CUDA_CONTEXT_BYTES
    ok = loss == loss and (device.type != "cuda" or peak <= budget)
    return {"seconds": secs, "s_per_step": secs / max(steps, 1), "steps": steps,
            "peak_bytes": peak, "estimate_bytes": budget, "loss": loss, "ok": ok}  # fmt: skip


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/transforms.py", description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--n", type=int, default=2000, help="trusted records of the comparison")
    ap.add_argument("--d", type=int, default=512, help="width of the comparison")
    ap.add_argument("--steps", type=int, default=50, help="Adam steps of the comparison")
    ap.add_argument("--paper-steps", type=int, default=200, help="0: skip the paper-size SAE")
    ap.add_argument("--json", type=Path, help="write the figures here")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    if a.device == "cuda" and not torch.cuda.is_available():
        print("bench/transforms.py: no CUDA device; use --device cpu", file=sys.stderr)
        return 2
    device = torch.device(a.device)
    x = torch.randn(a.n, a.d, generator=torch.Generator().manual_seed(0))
    x = x @ torch.randn(a.d, a.d, generator=torch.Generator().manual_seed(2)) / a.d**0.5
    figures: dict[str, Any] = {k: compare(k, x, a.steps, device) for k in ("flow", "sae")}
    if a.paper_steps:
        figures["paper_sae"] = paper_sae(device, a.paper_steps)
    figures["ok"] = all(v["ok"] for v in figures.values() if isinstance(v, dict))
    figures["headline"] = ", ".join(
        f"{k}: {v['ratio']:.1f}x vs CPU, loss rel diff {v['rel_vs_cpu']:.1e}"
        for k, v in figures.items() if k in ("flow", "sae")
    )  # fmt: skip
    figures.update(device=a.device, n=a.n, d=a.d, steps=a.steps, tolerance=TOLERANCE,
                   determinism=DETERMINISM)  # fmt: skip
    print(json.dumps(figures, indent=2))
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
