"""kill -9 at any stage, then rerun: it completes and the tables equal an uninterrupted run's.

Snakemake itself is killed too (the whole process group), as a power loss or an OOM killer
would; its lock then stays, so the rerun is `snakemake --unlock` followed by the normal
command (README, "When something goes wrong"). Outputs are written atomically, so the killed
job's outputs are absent, never half-written.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from smk import REPO, SNAKEMAKE, finished_run, snakemake

pytestmark = pytest.mark.slow

TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())
# The tiny run, slimmed to what the killed stages need (one feature, one detector, the flow
# transform, one figure): every test reruns part of the DAG, some of it all of it, and a kill's
# effect does not depend on how many sibling jobs there are.
TINY = {
    **TINY,
    "features": {"activations": {}},
    "detectors": {"mahalanobis": TINY["detectors"]["mahalanobis"]},
    "transforms": {"flow": {**TINY["transforms"]["flow"], "detectors": ["mahalanobis"]}},
    "figures": {"online_auroc_per_layer": {}},
    "explain": {**TINY["explain"], "scores": []},
    "sweeps": {},
    "combinations": {},
}
TABLES = ("auroc.parquet", "quirkiness.parquet", "separation_per_layer.parquet")

# rule → (log file of its job, an output that must not look complete after the kill).
# One job of every stage: dataset, fine-tune, extraction, transform, detector, figure.
STAGES = {
    "build_dataset": (
        "logs/build_dataset/addition.log",
        "results/datasets/addition/data.parquet",
    ),
    "score_detector": (
        "logs/score_detector/tiny-random/addition/activations/none/mahalanobis.log",
        "results/tiny-random/addition/scores/activations/none/mahalanobis",
    ),
    "fit_transform": (
        "logs/fit_transform/tiny-random/addition/activations/flow.log",
        "results/tiny-random/addition/transforms/activations/flow",
    ),
    "finetune_adapter": (
        "logs/finetune_adapter/tiny-random/addition.log",
        "results/tiny-random/addition/adapter",
    ),
    "extract_activations": (
        "logs/extract_activations/tiny-random/addition.log",
        "results/tiny-random/addition/features/activations.zarr",
    ),
    "plot_figure": (
        "logs/plot_figure/online_auroc_per_layer.log",
        "results/figures/online_auroc_per_layer.png",
    ),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return finished_run(tmp_path_factory, "reference", "tiny.yaml", TINY)[0]


def _kill_when_started(wd: Path, cfg: Path, rule: str, log: str, only_job: bool = False) -> None:
    """Force-rerun `rule`, wait until its job writes its log, then SIGKILL."""
    cmd = [
        "timeout", "-k", "10", "300", SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(wd), "--configfile", str(cfg), "--cores", "2", "--forcerun", rule,
    ]  # fmt: skip
    (wd / log).unlink(missing_ok=True)
    proc = subprocess.Popen(cmd, cwd=wd, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (wd / log).exists():
        assert proc.poll() is None, f"snakemake ended before {rule} started"
        assert time.monotonic() < deadline, f"{rule} never started"
        time.sleep(0.05)
    if only_job:
        # The job's own interpreter, as an OOM killer would pick it; Snakemake survives.
        out = subprocess.run(["pgrep", "-g", str(proc.pid), "-f", "python.*workflow_scripts|\\.snakemake/scripts"],
                             capture_output=True, text=True)  # fmt: skip
        for pid in out.stdout.split():
            if int(pid) != proc.pid:
                os.kill(int(pid), signal.SIGKILL)
        proc.wait(timeout=120)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _assert_same_tables(wd: Path, reference: Path) -> None:
    for name in TABLES:
        got = pd.read_parquet(wd / "results/tables" / name)
        want = pd.read_parquet(reference / "results/tables" / name)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-6)


@pytest.mark.parametrize("rule", sorted(STAGES))
def test_kill_minus_nine_then_rerun(rule, reference, tmp_path):
    wd = tmp_path / "wd"
    shutil.copytree(reference, wd, symlinks=True)
    cfg = wd / "tiny.yaml"
    log, output = STAGES[rule]
    _kill_when_started(wd, cfg, rule, log)
    assert not (wd / output).exists(), f"{output} looks complete after the kill"
    assert snakemake(wd, cfg, "--unlock").returncode == 0
    out = snakemake(wd, cfg, "--cores", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    assert (wd / output).exists()
    _assert_same_tables(wd, reference)
    assert not list((wd / "results").rglob(".*.tmp-*")), "temporary outputs were left behind"


def test_killed_job_fails_cleanly_and_rerun_needs_no_unlock(reference, tmp_path):
    wd = tmp_path / "wd"
    shutil.copytree(reference, wd, symlinks=True)
    cfg = wd / "tiny.yaml"
    log, output = STAGES["extract_activations"]
    _kill_when_started(wd, cfg, "extract_activations", log, only_job=True)
    assert not (wd / output).exists()
    out = snakemake(wd, cfg, "--cores", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    _assert_same_tables(wd, reference)
