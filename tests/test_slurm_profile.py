"""profiles/slurm + config/paper.yaml plan the full paper DAG in a dry run (no cluster, no
weights needed with QUIRKYMAD_SKIP_MODEL_CHECK=1, which real runs ignore)."""

from __future__ import annotations

import re

import pytest
import yaml

from smk import REPO, planned_jobs, snakemake, write_config
from smk import _job_counts as _job_stats

PAPER = REPO / "config" / "paper.yaml"
PROFILE = ("--workflow-profile", str(REPO / "profiles" / "slurm"))


@pytest.fixture
def no_cluster_env(monkeypatch):
    for var in ("WF_SLURM_ACCOUNT", "WF_SLURM_PARTITION", "WF_GPUS", "WF_GPU_MODEL", "WF_CPUS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_paper_dag_plans_with_slurm_profile(no_cluster_env, monkeypatch, tmp_path):
    monkeypatch.setenv("QUIRKYMAD_SKIP_MODEL_CHECK", "1")
    paper = yaml.safe_load(PAPER.read_text())
    n_models, n_datasets = len(paper["models"]), len(paper["datasets"])
    jobs = planned_jobs(tmp_path, PAPER, *PROFILE)
    assert jobs["prepare_model"] == n_models
    assert jobs["build_dataset"] == n_datasets
    assert jobs["finetune_adapter"] == n_models * n_datasets
    for rule in ("extract_activations", "extract_attribution", "extract_probe_shift"):
        assert jobs[rule] == n_models * n_datasets


def test_gpu_rules_get_gpu_and_model_sized_memory(no_cluster_env, monkeypatch, tmp_path):
    monkeypatch.setenv("QUIRKYMAD_SKIP_MODEL_CHECK", "1")
    monkeypatch.setenv("WF_GPU_MODEL", "h100")
    monkeypatch.setenv("WF_SLURM_ACCOUNT", "acct")
    out = snakemake(tmp_path, PAPER, "-n", *PROFILE, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    blocks = out.stdout.split("\n\n")
    finetune = next(b for b in blocks if "rule finetune_adapter:" in b)
    assert "gpu=1" in finetune and "gpu_model=h100" in finetune
    assert "slurm_account=acct" in finetune
    mem = int(finetune.split("mem_mb=")[1].split(",")[0])
    assert mem > 30_000  # a 7-8B model, not the 2 GB default
    for rule in ("extract_attribution", "extract_probe_shift", "extract_control_activations"):
        block = next(b for b in blocks if f"rule {rule}:" in b)
        assert "gpu=1" in block and "gpu_model=h100" in block, rule
    score = next(b for b in blocks if "rule score_detector:" in b)
    assert "gpu=" not in score
    # fit_transform (issue 31): on the GPU, host memory sized by the planner for the SAE
    sae = next(b for b in blocks if "rule fit_transform:" in b and "transform=sae" in b)
    assert "gpu=1" in sae and "gpu_model=h100" in sae
    assert int(sae.split("mem_mb=")[1].split(",")[0]) > 4000  # 2 x 268M-parameter layers


def test_paper_short_jobs_are_submitted_as_groups(no_cluster_env, monkeypatch, tmp_path):
    """Issue 31: under the profile the paper DAG's short jobs go to Slurm as one group job per
    model x replicate x dataset, one per model x dataset for the base-model controls (issue 28)
    and one for the run-wide tables and figures; every other job is one submission. Same jobs
    as without groups (the job stats of a plain dry run)."""
    monkeypatch.setenv("QUIRKYMAD_SKIP_MODEL_CHECK", "1")
    paper = yaml.safe_load(PAPER.read_text())
    base = len(paper["models"]) * len(paper["datasets"])
    pairs = base * len(paper.get("seeds") or [0]) + base
    out = snakemake(tmp_path, PAPER, "-n", *PROFILE, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    groups = re.findall(r"Group job (\S+) \(jobs", text)
    assert len(groups) == len(set(groups)) == pairs + 1 and "collect" in groups
    single = re.findall(r"^rule (\w+):", text, re.M)  # grouped jobs are indented under their group
    stats = planned_jobs(tmp_path, PAPER)  # local dry run: the same jobs
    assert _job_stats(text) == stats
    heavy = {"prepare_model", "build_dataset", "finetune_adapter", "extract_activations",
             "extract_attribution", "extract_probe_shift", "extract_base_activations", "evaluate_quirkiness",
             "fit_transform", "extract_control_activations", "all"}  # fmt: skip
    assert set(single) == heavy
    submissions = len(single) - 1 + len(groups)  # `all` runs on the submitting host
    ungrouped = sum(stats.values()) - 1
    assert submissions * 5 < ungrouped, (submissions, ungrouped)


def test_missing_paper_models_still_fail_without_the_skip(no_cluster_env, monkeypatch, tmp_path):
    monkeypatch.delenv("QUIRKYMAD_SKIP_MODEL_CHECK", raising=False)
    out = snakemake(tmp_path, PAPER, "-n", *PROFILE, timeout=120)
    assert out.returncode != 0
    assert "not available offline" in out.stderr + out.stdout


def test_skip_is_ignored_for_real_runs(no_cluster_env, monkeypatch, tmp_path):
    monkeypatch.setenv("QUIRKYMAD_SKIP_MODEL_CHECK", "1")
    # A model path that cannot exist, so this never starts a paper run where weights are on disk.
    paper = yaml.safe_load(PAPER.read_text())
    paper["models"] = {"mistral-7b": {"path": str(tmp_path / "no-such-model")}}
    out = snakemake(tmp_path, write_config(tmp_path / "p.yaml", paper), "--cores", "1", timeout=120)
    assert out.returncode != 0
    assert "models.mistral-7b" in out.stderr + out.stdout
    assert not (tmp_path / "results").exists()


def _rules_with(marker: str) -> set[str]:
    """Rules whose body in rules/*.smk contains `marker`."""
    found = set()
    for smk in (REPO / "rules").glob("*.smk"):
        for block in smk.read_text().split("\nrule ")[1:]:
            if marker in block.split("\nrule ")[0]:
                found.add(block.split(":", 1)[0].strip())
    return found


def test_every_multithreaded_or_gpu_rule_is_sized_in_the_profile():
    # A rule with threads > 1 that the profile does not set would ask srun for more CPUs than
    # sbatch granted ("More processors requested than permitted") and fail on the cluster.
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert _rules_with("threads: heavy_threads()") <= set(profile["set-threads"])
    gpu_block = next(v for k, v in profile.items() if k.startswith("?if") and "set-resources" in v)
    assert _rules_with("gpu=model_gpus") <= set(gpu_block["set-resources"])
