"""bench/gpu_check: its CPU-only parts (arguments, dry run, summary, comparisons, no-CUDA exit)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.smk import REPO

sys.path.insert(0, str(REPO / "bench"))
import gpu_check  # noqa: E402

SCRIPT = REPO / "bench" / "gpu_check.sh"


def _sh(*args: str, env_python: str = sys.executable):
    env = {"PATH": "/usr/bin:/bin", "QUIRKYMAD_PYTHON": env_python}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )


def test_dry_run_lists_every_check_without_torch(tmp_path):
    # -X importtime would be heavier; a sitecustomize-free check: run the module with torch
    # made unimportable, so the dry run must not import it.
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "torch.py").write_text("raise ImportError('torch imported by the dry run')\n")
    code = (
        f"import sys; sys.path.insert(0, {str(blocker)!r}); sys.argv = ['gpu_check', "
        f"'--dry-run', '--out', {str(tmp_path / 'o')!r}]; "
        f"sys.path.insert(1, {str(REPO / 'bench')!r}); import gpu_check; "
        "sys.exit(gpu_check.main())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    for name in (
        "e2e",
        "determinism",
        "bench_extract",
        "bench_finetune",
        "bench_detectors",
        "bench_transforms",
        "oom_backoff",
    ):
        assert f"- {name}:" in out.stdout
    assert "extract.py --cuda" in out.stdout and "finetune.py --cuda" in out.stdout
    assert "detectors.py --gpu-size" in out.stdout and "gpu_oom.py" in out.stdout
    assert "transforms.py --device cuda" in out.stdout  # issue 31
    assert str(tmp_path / "o" / "summary.json") in out.stdout
    assert not (tmp_path / "o").exists()  # nothing written


def test_shell_script_dry_run_and_help():
    out = _sh("--dry-run")
    assert out.returncode == 0, out.stderr
    assert "results/gpu_check/summary.json" in out.stdout
    helped = _sh("--help")
    assert helped.returncode == 0 and "--out" in helped.stdout and "--dry-run" in helped.stdout
    bad = _sh("--bogus")
    assert bad.returncode == 2 and "unrecognized arguments: --bogus" in bad.stderr


def test_shell_script_without_python_says_so(tmp_path):
    out = _sh("--dry-run", env_python=str(tmp_path / "nope"))
    assert out.returncode == 2 and "scripts/setup.sh" in out.stderr


def test_without_cuda_exits_nonzero_with_one_line(tmp_path):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = _sh("--out", str(tmp_path / "o"))
    assert out.returncode == gpu_check.EXIT_NO_CUDA
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: no CUDA device"), out.stderr
    assert not (tmp_path / "o").exists()


def test_parse_args_defaults_and_out():
    a = gpu_check.parse_args([])
    assert a.out == Path("results/gpu_check") and not a.dry_run
    assert gpu_check.parse_args(["--out", "x", "--dry-run"]).out == Path("x")


def _rows(values):
    keys = dict(
        model="m", dataset="addition", feature="activations", transform="none", setting="online"
    )
    return [{**keys, "detector": d, "layer": layer, "auroc": v} for (d, layer), v in values.items()]


def test_compare_auroc_and_verdict():
    a = _rows({("mahalanobis", "1"): 0.50, ("mahalanobis", "all"): 0.60, ("que", "1"): 0.7})
    b = _rows({("mahalanobis", "1"): 0.52, ("mahalanobis", "all"): 0.60, ("que", "1"): 0.7})
    cmp = gpu_check.compare_auroc(a, b)
    assert cmp["rows"] == 3 and cmp["unmatched_rows"] == 0
    assert cmp["max_abs_diff"] == pytest.approx(0.02)
    assert cmp["mean_abs_diff"] == pytest.approx(0.02 / 3)
    assert gpu_check.auroc_verdict(cmp, 0.05)[0]
    assert not gpu_check.auroc_verdict(cmp, 1e-3)[0]
    # A row missing on one side fails, whatever the differences.
    short = gpu_check.compare_auroc(a, b[:2])
    assert short["unmatched_rows"] == 1 and not gpu_check.auroc_verdict(short, 1.0)[0]
    assert not gpu_check.auroc_verdict(gpu_check.compare_auroc([], []), 1.0)[0]


def test_summary_format_and_table():
    results = [
        gpu_check.Result("e2e", True, 95.04, {"max_abs_diff": 0.01}, "12 rows"),
        gpu_check.Result("oom_backoff", False, 40.0, {"ooms": 0}, "no OOM"),
    ]
    env = {"gpu": "NVIDIA H100 80GB HBM3", "torch": "2.13.0", "cuda": "12.8"}
    s = gpu_check.summary(results, env, "2026-12-02T09:00:00+00:00")
    assert json.loads(json.dumps(s)) == s  # JSON-able as is
    assert s["schema"] == "quirkymad.gpu_check/1" and s["passed"] is False
    assert s["gpu"] == "NVIDIA H100 80GB HBM3" and s["torch"] == "2.13.0" and s["cuda"] == "12.8"
    assert [c["name"] for c in s["checks"]] == ["e2e", "oom_backoff"]
    assert s["checks"][0] == {
        "name": "e2e",
        "passed": True,
        "seconds": 95.0,
        "figures": {"max_abs_diff": 0.01},
        "detail": "12 rows",
    }
    text = gpu_check.table(s)
    assert "PASS  e2e" in text and "FAIL  oom_backoff" in text and text.endswith("FAILED")
    ok = gpu_check.summary(results[:1], env, "t")
    assert ok["passed"] and gpu_check.table(ok).endswith("ALL PASSED")
    assert not gpu_check.summary([], env, "t")["passed"]


def test_e2e_configs_differ_only_in_device_and_dtype():
    from quirkymad.workflow.config import check_config

    cuda, cpu = gpu_check.e2e_config("cuda"), gpu_check.e2e_config("cpu")
    # Only the CPU twin is validated: a config check may (rightly) refuse `device: cuda` on a
    # machine without CUDA; the CUDA config differs from it in device and dtypes only.
    check_config(json.loads(json.dumps(cpu)), check_models=False)
    assert cuda["finetune"]["dtype"] == cuda["extract"]["dtype"] == "bfloat16"
    assert cpu["finetune"]["dtype"] == cpu["extract"]["dtype"] == "float32"
    strip = lambda c: {k: v for k, v in c.items() if k not in ("device", "finetune", "extract")}  # noqa: E731
    assert strip(cuda) == strip(cpu)


def test_checks_fit_the_nine_minutes():
    # The checks run one after another (the three e2e runs at once): limits sum to <= 8.25 min,
    # so with start-up the whole check stays within 9 minutes (issue 31 added 45 s of transforms).
    assert sum(c.timeout_s for c in gpu_check.checks(Path("o"))) <= 9 * 60 - 45


def test_e2e_config_plans_the_workflow(tmp_path):
    """The CPU twin of the e2e config builds a DAG up to the AUROC table (the CUDA one differs
    only in device and dtypes, checked above)."""
    from tests.smk import planned_jobs, write_config

    cfg = write_config(tmp_path / "c.yaml", gpu_check.e2e_config("cpu"))
    jobs = planned_jobs(tmp_path, cfg, "results/tables/auroc.csv")
    # 3 features x 3 detectors, + the flow's and the SAE's detector on the activations
    assert jobs["score_detector"] == 3 * 3 + 2 and jobs["finetune_adapter"] == 1
    assert jobs["fit_transform"] == 2
    # attribution and probe shift come from their own jobs (issue 31)
    assert {"extract_attribution", "extract_probe_shift", "collect_auroc"} <= set(jobs)


def test_run_script_reads_the_json_verdict(tmp_path):
    """The runner side of a bench check, with a stand-in script instead of a CUDA bench."""
    script = tmp_path / "fake.py"
    script.write_text(
        "import json, sys\n"
        "ok = sys.argv[1] == 'good'\n"
        "open(sys.argv[3], 'w').write(json.dumps({'ok': ok, 'ratio': 2.0, 'headline': 'h'}))\n"
        "sys.exit(0 if ok else 1)\n"
    )
    for arg, passed in (("good", True), ("bad", False)):
        out = tmp_path / arg
        out.mkdir()
        cmd = (sys.executable, str(script), arg, "--json", str(out / "f.json"))
        r = gpu_check.run_script(gpu_check.Check("bench_x", "x", (cmd,), 60), out)
        assert r.passed is passed and r.figures["ratio"] == 2.0
        assert r.detail == ("h" if passed else "rc 1: h")
    # A script that dies before writing its figures fails with its last log line, even if an
    # earlier run left figures behind.
    (tmp_path / "n.json").write_text('{"ok": true}')
    cmd = (sys.executable, "-c", "raise SystemExit('boom')", "--json", str(tmp_path / "n.json"))
    r = gpu_check.run_script(gpu_check.Check("bench_y", "y", (cmd,), 60), tmp_path)
    assert not r.passed and r.figures == {} and "boom" in r.detail


def test_transforms_bench_runs_on_the_cpu_and_refuses_missing_cuda(tmp_path):
    """bench/transforms.py (the `bench_transforms` check) at toy size with `--device cpu`: the
    same code path as on CUDA minus the memory figures; every figure is written."""
    pytest.importorskip("torch")
    script = str(REPO / "bench" / "transforms.py")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, script, "--device", "cpu", "--n", "200", "--d", "16", "--steps", "5",
         "--paper-steps", "0", "--json", str(tmp_path / "t.json")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    figures = json.loads((tmp_path / "t.json").read_text())
    assert figures["ok"] is True and "vs CPU" in figures["headline"]
    for kind in ("flow", "sae"):
        f = figures[kind]
        assert f["rel_vs_cpu"] == 0.0 and f["rel_repeat"] == 0.0  # CPU vs CPU: bit-identical
        assert f["estimate_bytes"] > 0 and f["cpu_s"] > 0 and f["device_s"] > 0
    import torch

    if not torch.cuda.is_available():
        cuda = subprocess.run([sys.executable, script, "--device", "cuda"], capture_output=True,
                              text=True, env=env, cwd=REPO, timeout=120)  # fmt: skip
        assert cuda.returncode == 2 and "no CUDA device" in cuda.stderr
