"""Every CUDA path of quirkymad checked in one call (issue 22); `bench/gpu_check.sh` runs this.

Checks, each with its pass condition:

- `e2e`: the workflow on a small config (`e2e_config`: a random Llama-architecture model,
  one dataset, the three features, torch detectors) three times at once: twice with
  `device: cuda` in bf16, once on CPU in float32. The CUDA AUROC table must equal the CPU one to
  `E2E_TOLERANCE` (bf16 vs float32 moves scores, so this is a loose bound, stated up front) and
- `determinism`: the two CUDA tables must agree to `DETERMINISM_TOLERANCE` (1e-3).
- `bench_extract`, `bench_finetune`, `bench_detectors`: `bench/extract.py --cuda`,
  `bench/finetune.py --cuda`, `bench/detectors.py --gpu-size` with `--json`; each records its
  ratio against its naive baseline and the fraction of the measured bf16 matmul peak
  (extraction) / MFU (fine-tuning); they pass when they ran and both paths agree numerically.
- `bench_transforms` (`bench/transforms.py --device cuda`, issue 31): flow and SAE fitted on
  CUDA twice and on the CPU, same data and seed: final losses equal to 1e-2 (CUDA vs CPU) and
  1e-6 (CUDA twice), the peak GPU memory within the planner's estimate; plus one paper-size SAE
  layer (32768 latents) on CUDA. The e2e runs also fit a flow and an SAE (`fit_transform` on
  CUDA through the workflow), so their AUROC rows are in `e2e` and `determinism`.
- `oom_backoff` (`bench/gpu_oom.py`): a real CUDA out-of-memory in the fine-tuning step on a
  random Mistral-7B-architecture model; the micro-batch halving must end with the same losses
  as a run that used the smaller micro-batch from the start.

Writes `summary.json` (every figure, pass/fail, GPU name, torch/CUDA versions) to `--out`
(default results/gpu_check/) and prints a short table; exits 0 only if every check passed.
`--dry-run` lists what would run without importing torch. Without CUDA it exits 2 with one line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path("results/gpu_check")
E2E_TOLERANCE = 0.05
"""Max |AUROC(cuda, bf16) - AUROC(cpu, float32)| over every row of the AUROC table. bf16
carries ~3 significant digits; fine-tuning and the detectors amplify that, so this bound is a
stated guess, to be tightened once measured."""
DETERMINISM_TOLERANCE = 1e-3
"""Max |AUROC(run 1) - AUROC(run 2)| of two identical CUDA runs (README: GPU kernels are not
bit-identical run to run)."""
AUROC_KEYS = ("model", "dataset", "feature", "transform", "detector", "setting", "layer")
EXIT_NO_CUDA = 2


@dataclass(frozen=True)
class Check:
    """One check: the commands it runs (for `--dry-run`) and its time limit, seconds."""

    name: str
    what: str
    commands: tuple[tuple[str, ...], ...]
    timeout_s: int


@dataclass
class Result:
    name: str
    passed: bool
    seconds: float
    figures: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


def e2e_config(device: str) -> dict[str, Any]:
    """The small end-to-end config: a random Llama (8 layers, d=512) in bf16 on CUDA or float32
    on CPU; one dataset, all three features, the torch detectors (batched on the GPU)."""
    dtype = "bfloat16" if device == "cuda" else "float32"
    return {
        "seed": 0,
        "device": device,
        "models": {"tiny-random": {"n_layers": 8, "d_model": 512}},
        "datasets": {"addition": {"n_base": 4000}},
        "finetune": {
            "lr": 1.0e-3,
            "epochs": 1,
            "batch_size": 16,
            "max_train_examples": 256,
            "max_val_examples": 64,
            "dtype": dtype,
            "checkpoint_every": 0,
        },
        "layers": "all",
        "extract": {
            "batch_size": 64,
            "max_per_role": 200,
            "store_dtype": "float32",
            "dtype": dtype,
        },
        "features": {"activations": {}, "attribution": {}, "probe_shift": {"layers": [1, 4, 8]}},
        "detectors": {
            "mahalanobis": {"rcond": 1.0e-3},
            "diag_mahalanobis": {},
            "que": {"alpha": 4, "untrusted": "test"},
        },
        # fit_transform on CUDA through the workflow (issue 31): small, so the CPU twin's fits
        # take seconds; layers auto = 6 and 7 of 8
        "transforms": {
            "flow": {"layers": "auto", "detectors": ["mahalanobis"], "hidden": 64, "steps": 100},
            "sae": {
                "layers": "auto",
                "detectors": ["diag_mahalanobis"],
                "expansion": 2,
                "k": 16,
                "steps": 100,
                "batch_size": 64,
            },
        },
        "scoring": {"n_bootstrap": 100},
        "diagnostics": {"max_per_character": 100},
        "figures": {},
    }


def checks(out: Path, python: str = sys.executable) -> list[Check]:
    """What a full run does, in order (pure: nothing is run or imported). The checks run one
    after another and each is stopped at its limit; the limits sum to 495 s, so the whole run
    stays within 8.75 minutes (the e2e runs go side by side)."""
    snakemake = str(Path(python).with_name("snakemake"))
    bench = REPO / "bench"

    def e2e(tag: str) -> tuple[str, ...]:
        return (
            snakemake,
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(out / f"e2e_{tag}"),
            "--configfile",
            str(out / f"e2e_{tag}" / "config.yaml"),
            "--cores",
            "5",
            "results/tables/auroc.csv",
        )

    return [
        Check(
            "e2e",
            f"workflow, cuda/bf16 vs cpu/float32, AUROC tables equal to {E2E_TOLERANCE}",
            (e2e("cuda1"), e2e("cuda2"), e2e("cpu")),
            180,
        ),
        Check(
            "determinism",
            f"two identical cuda runs, AUROCs equal to {DETERMINISM_TOLERANCE}",
            (),
            0,
        ),
        Check(
            "bench_extract",
            "ours vs naive extraction, 7B architecture, bf16 peak fraction",
            (
                (
                    python,
                    str(bench / "extract.py"),
                    "--cuda",
                    "--json",
                    str(out / "bench_extract.json"),
                ),
            ),
            60,
        ),
        Check(
            "bench_finetune",
            "ours vs naive fine-tuning step, 7B architecture, MFU",
            (
                (
                    python,
                    str(bench / "finetune.py"),
                    "--cuda",
                    "--steps",
                    "4",
                    "--batch",
                    "32",
                    "--micro",
                    "16",
                    "--json",
                    str(out / "bench_finetune.json"),
                ),
            ),
            90,
        ),
        Check(
            "bench_detectors",
            "batched detectors on cuda vs per-layer references, d=4096",
            (
                (
                    python,
                    str(bench / "detectors.py"),
                    "--gpu-size",
                    "--layers",
                    "4",
                    "--json",
                    str(out / "bench_detectors.json"),
                ),
            ),
            60,
        ),
        Check(
            "bench_transforms",
            "flow and SAE fitted on cuda vs cpu (loss within 1e-2, repeat within 1e-6), "
            "paper-size SAE memory vs the planner",
            (
                (
                    python,
                    str(bench / "transforms.py"),
                    "--device",
                    "cuda",
                    "--json",
                    str(out / "bench_transforms.json"),
                ),
            ),
            45,
        ),
        Check(
            "oom_backoff",
            "real CUDA OOM in the fine-tuning step; halving ends with the same losses",
            ((python, str(bench / "gpu_oom.py"), "--json", str(out / "oom_backoff.json")),),
            60,
        ),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/gpu_check.sh",
        description="Check every CUDA path of quirkymad in one call (<= 9 min on one H100/H200).",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"folder for summary.json and the runs (default {DEFAULT_OUT}/)",
    )
    ap.add_argument("--dry-run", action="store_true", help="list what would run, run nothing")
    return ap.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# Pure parts (tested on CPU).


def compare_auroc(a: list[dict], b: list[dict]) -> dict[str, Any]:
    """Max and mean |ΔAUROC| over the rows two AUROC tables share (keys `AUROC_KEYS`), and
    how many rows only one of them has."""
    key = lambda r: tuple(str(r[k]) for k in AUROC_KEYS)  # noqa: E731
    ia, ib = {key(r): float(r["auroc"]) for r in a}, {key(r): float(r["auroc"]) for r in b}
    shared = sorted(set(ia) & set(ib))
    diffs = [abs(ia[k] - ib[k]) for k in shared]
    return {
        "rows": len(shared),
        "unmatched_rows": len(set(ia) ^ set(ib)),
        "max_abs_diff": max(diffs) if diffs else float("nan"),
        "mean_abs_diff": sum(diffs) / len(diffs) if diffs else float("nan"),
    }


def auroc_verdict(cmp: dict[str, Any], tolerance: float) -> tuple[bool, str]:
    ok = cmp["rows"] > 0 and cmp["unmatched_rows"] == 0 and cmp["max_abs_diff"] <= tolerance
    return ok, (
        f"{cmp['rows']} rows, max |dAUROC| {cmp['max_abs_diff']:.2e} "
        f"(tolerance {tolerance:g}), {cmp['unmatched_rows']} unmatched"
    )


def summary(results: Sequence[Result], env: dict[str, Any], started: str) -> dict[str, Any]:
    """The JSON summary: environment, every check's figures and verdict, overall pass."""
    return {
        "schema": "quirkymad.gpu_check/1",
        "started": started,
        **env,
        "passed": bool(results) and all(r.passed for r in results),
        "checks": [
            {
                "name": r.name,
                "passed": r.passed,
                "seconds": round(r.seconds, 1),
                "figures": r.figures,
                "detail": r.detail,
            }
            for r in results
        ],
    }


def table(s: dict[str, Any]) -> str:
    """A short text table of a summary."""
    lines = [
        f"gpu_check on {s.get('gpu', '?')} (torch {s.get('torch', '?')}, "
        f"CUDA {s.get('cuda', '?')}), {s['started']}"
    ]
    for c in s["checks"]:
        mark = "PASS" if c["passed"] else "FAIL"
        lines.append(f"  {mark}  {c['name']:<16} {c['seconds']:>6.0f} s  {c['detail']}")
    lines.append("ALL PASSED" if s["passed"] else "FAILED")
    return "\n".join(lines)


def dry_run(out: Path) -> str:
    lines = [f"gpu_check --dry-run: would write {out / 'summary.json'} after:"]
    for c in checks(out):
        lines.append(f"- {c.name}: {c.what}" + (f" (limit {c.timeout_s} s)" if c.timeout_s else ""))
        lines += [f"    {' '.join(cmd)}" for cmd in c.commands]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Running (needs CUDA).


def environment() -> dict[str, Any]:
    import torch

    props = torch.cuda.get_device_properties(0)
    return {
        "gpu": torch.cuda.get_device_name(0),
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "python": platform.python_version(),
        "host": platform.node(),
    }


def _run(cmd: Sequence[str], timeout: int, log: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    with open(log, "w") as fh:
        try:
            rc = subprocess.run(
                list(cmd), stdout=fh, stderr=subprocess.STDOUT, cwd=REPO, env=env, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    return rc, time.perf_counter() - t0


def _tail(log: Path, n: int = 1) -> str:
    lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    return " | ".join(lines[-n:])


def run_e2e(check: Check, out: Path) -> list[Result]:
    """The three workflow runs at once; `e2e` and `determinism` results."""
    import pandas as pd
    import yaml

    for tag in ("cuda1", "cuda2", "cpu"):
        d = out / f"e2e_{tag}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        cfg = e2e_config("cpu" if tag == "cpu" else "cuda")
        (d / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = [
            pool.submit(_run, cmd, check.timeout_s, out / f"e2e_{i}.log")
            for i, cmd in enumerate(check.commands)
        ]
        runs = [f.result() for f in futures]
    seconds = max(s for _, s in runs)
    failed = [i for i, (rc, _) in enumerate(runs) if rc != 0]
    if failed:
        why = "; ".join(f"run {i} rc {runs[i][0]}: {_tail(out / f'e2e_{i}.log')}" for i in failed)
        return [
            Result("e2e", False, seconds, detail=why),
            Result("determinism", False, 0.0, detail="e2e runs failed"),
        ]
    tables = [
        pd.read_csv(out / f"e2e_{t}" / "results/tables/auroc.csv").to_dict("records")
        for t in ("cuda1", "cuda2", "cpu")
    ]
    vs_cpu = compare_auroc(tables[0], tables[2])
    ok, detail = auroc_verdict(vs_cpu, E2E_TOLERANCE)
    repeat = compare_auroc(tables[0], tables[1])
    ok2, detail2 = auroc_verdict(repeat, DETERMINISM_TOLERANCE)
    times = {f"wall_s_{t}": round(s, 1) for t, (_, s) in zip(("cuda1", "cuda2", "cpu"), runs)}
    return [
        Result("e2e", ok, seconds, {**vs_cpu, **times, "tolerance": E2E_TOLERANCE}, detail),
        Result("determinism", ok2, 0.0, {**repeat, "tolerance": DETERMINISM_TOLERANCE}, detail2),
    ]


def run_script(check: Check, out: Path) -> Result:
    """A bench script writing `--json`: pass when it exits 0 and reports `ok: true`."""
    log = out / f"{check.name}.log"
    path = Path(check.commands[0][check.commands[0].index("--json") + 1])
    path.unlink(missing_ok=True)  # figures of an earlier run must not count for this one
    rc, seconds = _run(check.commands[0], check.timeout_s, log)
    figures = json.loads(path.read_text()) if path.exists() else {}
    ok = rc == 0 and bool(figures.get("ok"))
    headline = figures.get("headline") or _tail(log)
    return Result(check.name, ok, seconds, figures, f"rc {rc}: {headline}" if rc else headline)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out.resolve()
    if args.dry_run:
        print(dry_run(out))
        return 0
    try:
        import torch
    except ImportError:
        print("gpu_check: torch is not installed (run `bash scripts/setup.sh`)", file=sys.stderr)
        return EXIT_NO_CUDA
    if not torch.cuda.is_available():
        print(
            f"gpu_check: no CUDA device visible to torch {torch.__version__} (CUDA build: "
            f"{torch.version.cuda or 'none, CPU-only wheel'}); nothing checked",
            file=sys.stderr,
        )
        return EXIT_NO_CUDA
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results: list[Result] = []
    plan = checks(out)
    for check in plan:
        if check.name == "determinism":
            continue  # comes with e2e
        print(f"gpu_check: {check.name} ...", flush=True)
        if check.name == "e2e":
            results += run_e2e(check, out)
        else:
            results.append(run_script(check, out))
    s = summary(results, environment(), started)
    (out / "summary.json").write_text(json.dumps(s, indent=2, default=str))
    print(table(s))
    print(f"gpu_check: summary in {out / 'summary.json'}")
    return 0 if s["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
