"""The tiny workflow on a real local Slurm (scripts/slurm-local.sh) through the SLURM executor
plugin and profiles/slurm: same results as a local run; a failing job is retried once and
leaves no complete-looking output. Needs root + Debian slurm-wlm/munge (scripts/install-slurm.sh);
skips without them unless QUIRKYMAD_REQUIRE_SLURM=1 (CI), where it fails instead."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from safetensors.torch import load_file

from smk import REPO, SNAKEMAKE, snakemake, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())
# The tiny run, slimmed to one feature, an online and an offline detector and one transform
# (trained on the base model, so its extra extraction rule runs too):
# this test is about submission, resources and retries (every rule kind still goes through
# sbatch), and each Slurm job costs seconds of scheduling on CI's 2 cores.
TINY = {
    **TINY,
    "features": {"activations": {}},
    "detectors": {k: TINY["detectors"][k] for k in ("mahalanobis", "que")},
    "transforms": {"sae": {**TINY["transforms"]["sae"], "detectors": ["sae_l0"]}},
    "figures": {"online_auroc_per_layer": {}, "offline_auroc_per_layer": {}},
    "explain": {**TINY["explain"], "scores": ["activations/none/mahalanobis"]},
    "sweeps": {"n_trusted": {"values": [8], "detectors": ["mahalanobis"], "draws": 1}},
    "combinations": {},  # combos (issue 19): they combine the features left out here
    "controls": {"enabled": False},  # issue 28's controls: one more extraction, no new rule kind
}
SCRIPT = str(REPO / "scripts" / "slurm-local.sh")
ADAPTER = "results/tiny-random/addition/adapter/adapter_model.safetensors"
# Same threads in both runs (torch's CPU results may depend on the thread count), and
# cpus_per_task <= the single node's CPUs.
CPUS = str(min(2, os.cpu_count() or 1))


def _missing() -> str | None:
    if not shutil.which("slurmctld") or not shutil.which("munged"):
        return "slurmctld/munged not installed (bash scripts/install-slurm.sh)"
    if os.geteuid() != 0:
        return "the local Slurm cluster needs root"
    return None


@pytest.fixture(scope="module")
def cluster():
    reason = _missing()
    if reason:
        if os.environ.get("QUIRKYMAD_REQUIRE_SLURM") == "1":
            pytest.fail(f"QUIRKYMAD_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WF_", "SLURM_"))}
    try:
        start = subprocess.run(
            ["timeout", "-k", "10", "90", SCRIPT, "start"], capture_output=True, text=True
        )
        assert start.returncode == 0, start.stderr + start.stdout
        conf = subprocess.run([SCRIPT, "env"], capture_output=True, text=True, check=True)
        env["SLURM_CONF"] = conf.stdout.strip().split("=", 1)[1]
        env["WF_CPUS"] = CPUS
        yield env
    finally:
        subprocess.run(["timeout", "-k", "10", "120", SCRIPT, "stop"], capture_output=True)


def slurm_snakemake(wd, configfile, env, *args, timeout=900):
    """Snakemake through the SLURM profile. SIGINT on timeout: the plugin then scancels its
    jobs and exits (SIGTERM only waits for running jobs, which may never end)."""
    cmd = [
        "timeout", "-s", "INT", "-k", "30", str(timeout), SNAKEMAKE,
        "--snakefile", str(REPO / "Snakefile"), "--directory", str(wd),
        "--workflow-profile", str(REPO / "profiles" / "slurm"),
        "--configfile", str(configfile), *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, cwd=wd, env=env)


def test_slurm_run_matches_local_run(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "slurm"
    local.mkdir(), remote.mkdir()
    out = snakemake(local, write_config(local / "tiny.yaml", TINY), "--cores", CPUS, timeout=600)
    assert out.returncode == 0, out.stderr[-5000:]
    local_log = out.stdout + out.stderr
    assert "Group job" not in local_log  # a local run ignores the job groups (issue 31)
    out = slurm_snakemake(remote, write_config(remote / "tiny.yaml", TINY), cluster)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    # Every non-local rule went through sbatch (not silently run locally): the model-sized
    # rules one job each, the short jobs as group jobs (issue 31): one for the model x dataset
    # (scoring, explanations, sweep point, loss curve, separation) and one for the tables and
    # figures; none of those as a submission of its own.
    submitted = set(re.findall(r"slurm_logs/rule_(\w+)/", log))
    assert {"prepare_model", "build_dataset", "finetune_adapter"} <= submitted
    assert {"extract_activations", "fit_transform"} <= submitted
    assert not submitted & _grouped_rules()
    groups = set(re.findall(r"slurm_logs/group_(small_tiny-random_addition|collect)_", log))
    assert groups == {"small_tiny-random_addition", "collect"}, log[-5000:]
    ids = set(re.findall(r"submitted with SLURM jobid (\d+)", log))
    jobs = _job_stats(local_log)
    ungrouped = sum(n for rule, n in jobs.items() if rule not in _grouped_rules() | {"all"})
    assert len(ids) == ungrouped + 2 < sum(jobs.values()) - 1, (ids, jobs)
    a = pd.read_csv(local / "results/tables/auroc.csv")
    b = pd.read_csv(remote / "results/tables/auroc.csv")
    pd.testing.assert_frame_equal(a, b)
    ta, tb = load_file(local / ADAPTER), load_file(remote / ADAPTER)
    assert ta.keys() == tb.keys()
    for key in ta:
        assert ta[key].equal(tb[key]), key


def _grouped_rules() -> set[str]:
    """Rules with a `group:` (rules/*.smk)."""
    found = set()
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"^[ \t]*rule ", smk.read_text(), flags=re.M)[1:]:
            if "group: job_group(" in block:
                found.add(block.split(":", 1)[0].strip())
    return found


def _job_stats(log: str) -> dict[str, int]:
    stats = log.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M)}


def test_failed_job_is_retried_then_leaves_no_output(cluster, tmp_path):
    # d_model=6 passes validation but fails at run time in prepare_model (6 heads don't divide).
    bad = {**TINY, "models": {"tiny-random": {"n_layers": 2, "d_model": 6}}}
    cfg = write_config(tmp_path / "bad.yaml", bad)
    out = slurm_snakemake(tmp_path, cfg, cluster, "--", "results/models/tiny-random")
    log = out.stdout + out.stderr
    assert out.returncode != 0, log[-3000:]
    ids = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S+rule_prepare_model/", log)
    assert len(set(ids)) == 2, log[-5000:]  # profile retries: 1 -> two submissions
    assert "failed, SLURM status is: 'FAILED'" in log
    assert not (tmp_path / "results/models/tiny-random").exists()
