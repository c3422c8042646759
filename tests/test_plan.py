"""`quirkymad plan`: job counts equal the DAG's, no torch, disk estimates near real artifacts."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from quirkymad.workflow import plan
from tests.smk import REPO, planned_jobs, write_config

PAPER = REPO / "config" / "paper.yaml"
TINY = REPO / "tests" / "data" / "tiny.yaml"


def _by_rule(rules) -> Counter:
    """Rule counts with the figure rules pooled (their names are a detail of rules/figures.smk)."""
    out: Counter = Counter()
    for rule, n in rules.items():
        out["figures" if rule.startswith("plot_") and rule != "plot_loss_curve" else rule] += n
    return out


# Job counts equal the dry run's: the plan costs the job table's rows one for one, and the
# table's rows are the DAG's jobs (tests/test_job_table.py).


def test_seeds_replicate_only_per_seed_jobs(tmp_path):
    """`seeds: [0, 1]` (issue 18): two fine-tunes, one dataset build and one base-model
    extraction per dataset, every per-seed job twice, one seed table; the planner agrees."""
    import yaml

    tiny = yaml.safe_load(TINY.read_text())
    one = planned_jobs(tmp_path, TINY)
    cfg = write_config(tmp_path / "seeds.yaml", {**tiny, "seeds": [0, 1]})
    two = planned_jobs(tmp_path, cfg)
    assert two["finetune_adapter"] == 2 and two["build_dataset"] == 1 == one["build_dataset"]
    per_seed = {"finetune_adapter", "plot_loss_curve", "extract_activations", "extract_attribution",
                "extract_probe_shift", "evaluate_quirkiness", "fit_transform", "score_detector", "analyze_separation",
                "explain_scores"}  # fmt: skip
    assert {r: two[r] - one.get(r, 0) for r in two if two[r] != one.get(r, 0)} == {
        **{r: one[r] for r in per_seed}, "summarize_seeds": 1}  # fmt: skip
    jobs, _ = plan.plan_jobs(plan.load_config(cfg), plan.PlanOptions(results=tmp_path))
    assert _by_rule(Counter(j.rule for j in jobs)) == _by_rule(two)


def test_paper_plan_without_torch():
    code = (
        "import sys; from quirkymad.cli import main; "
        f"rc = main(['plan', '--configfile', {str(PAPER)!r}, '--results', '/nonexistent/r']); "
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    # every job of the paper DAG (test_job_counts_equal_the_dry_run checks them rule by rule)
    jobs, _ = plan.plan_jobs(
        plan.load_config(PAPER), plan.PlanOptions(results=Path("/nonexistent"))
    )
    assert re.search(rf"^total\s+{len(jobs)}\s", text, re.M), text
    for kind in ("activation stores", "attribution stores", "probe-shift stores", "adapters"):
        assert kind in text
    assert "estimate, unverified on GPU" in text and "cpu_levers.md" in text


def test_warns_when_a_job_does_not_fit_the_gpu_or_the_disk():
    config = plan.load_config(PAPER)
    small = plan.PlanOptions(gpu=plan.GpuAssumptions(memory_gib=16))
    jobs, _ = plan.plan_jobs(config, small)
    warn = plan.warnings_for(jobs, small, free=1e9)
    assert any("finetune_adapter on mistral-7b" in w for w in warn)
    assert any("only 953.7 MiB is free" in w for w in warn)
    big = plan.PlanOptions(gpu=plan.GpuAssumptions(memory_gib=141))
    assert plan.warnings_for(plan.plan_jobs(config, big)[0], big, free=1e15) == []


def test_model_shapes_give_the_published_parameter_counts():
    # Mistral-7B-v0.1: 7.24 B; Llama-3.1-8B: 8.03 B; SmolLM2-135M: 134.5 M (model cards).
    assert plan.model_shape("mistral-7b", {}).params == pytest.approx(7.24e9, rel=0.005)
    assert plan.model_shape("llama-3.1-8b", {}).params == pytest.approx(8.03e9, rel=0.005)
    assert plan.model_shape("smollm2-135m", {}).params == pytest.approx(134.5e6, rel=0.005)


def test_disk_estimate_matches_a_tiny_run(tmp_path):
    """Build a tiny run's artifacts with the library (a shape and dtype other than the ones the
    constants were read from) and compare each with its estimate: within 20 %."""
    from quirkymad.datasets import BuildSettings, write_dataset
    from quirkymad.features.extraction import (
        AttributionSettings,
        ExtractSettings,
        extract_activation_store,
        extract_attribution_store,
    )
    from quirkymad.finetune import FinetuneSettings, finetune
    from quirkymad.models import prepare_model

    config = {
        "seed": 0,
        "device": "cpu",
        "models": {"tiny-random": {"n_layers": 3, "d_model": 48}},
        "datasets": {"addition": {"n_base": 1200}},
        "finetune": {
            "epochs": 1,
            "batch_size": 16,
            "max_train_examples": 16,
            "max_val_examples": 8,
        },
        "layers": "all",
        "extract": {"batch_size": 64, "max_per_role": 24, "store_dtype": "float16"},
        "features": {"activations": {}, "attribution": {}, "probe_shift": {"layers": [1, 3]}},
        "detectors": {"mahalanobis": {}},
        "figures": {},
    }
    config = plan.load_config(write_config(tmp_path / "c.yaml", config))
    res = tmp_path / "results"
    data = res / "datasets/addition/data.parquet"
    write_dataset("addition", {"n_base": 1200}, BuildSettings(), data, data.with_name("card.json"))
    model = res / "models/tiny-random"
    prepare_model("tiny-random", config["models"]["tiny-random"], model)
    run = res / "tiny-random/addition"
    ft = FinetuneSettings(
        epochs=1, batch_size=16, max_train_examples=16, max_val_examples=8, device="cpu"
    )
    finetune(model, data, run / "adapter", run / "finetune/training_log.csv", ft)
    ex = {"batch_size": 64, "max_per_role": 24, "store_dtype": "float16", "device": "cpu"}
    extract_activation_store(
        model, run / "adapter", data, run / "features/activations.zarr", ExtractSettings(**ex)
    )
    extract_attribution_store(
        model, run / "adapter", data, run / "features/attribution.zarr", AttributionSettings(**ex)
    )
    extract_attribution_store(
        model,
        run / "adapter",
        data,
        run / "features/probe_shift.zarr",
        AttributionSettings(**ex, layers=[1, 3]),
        feature="probe_shift",
    )

    jobs, facts = plan.plan_jobs(config, plan.PlanOptions(results=res))
    assert facts["sizes"]["addition"].exact
    paths = {
        "prepare_model": model,
        "build_dataset": data,
        "finetune_adapter": run / "adapter",
        "extract_activations": run / "features/activations.zarr",
        "extract_attribution": run / "features/attribution.zarr",
        "extract_probe_shift": run / "features/probe_shift.zarr",
    }
    ratios = {}
    for job in jobs:
        if job.rule in paths:
            real = sum(map(plan.artifact_bytes, np.atleast_1d(paths[job.rule])))
            ratios[job.rule] = sum(job.disk.values()) / real
    assert set(ratios) == set(paths)
    assert all(0.8 <= r <= 1.2 for r in ratios.values()), ratios

    # The estimate from n_base alone (no data.parquet yet) is near the counted roles.
    counted = facts["sizes"]["addition"]
    guess = plan.estimate_dataset(1200, config["data"], 24)
    assert guess.n_mad == pytest.approx(counted.n_mad, rel=0.2)


def test_cli_prints_one_line_on_a_bad_config(tmp_path, capsys):
    import yaml

    from quirkymad.cli import main

    config = yaml.safe_load(TINY.read_text())
    config["extract"]["max_per_rol"] = 3
    bad = write_config(tmp_path / "bad.yaml", config)
    assert main(["plan", "--configfile", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("quirkymad: ") and "max_per_rol" in err[0]
    assert main(["plan", "--configfile", str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_render_lists_every_stage():
    config = plan.load_config(TINY)
    options = plan.PlanOptions(results=Path("/nonexistent"))
    jobs, facts = plan.plan_jobs(config, options)
    text = plan.render("tiny", jobs, facts, options, free=None)
    for stage in plan.STAGES:
        assert f"\n{stage} " in text
    # 5 features (3 + issue 19's 2 attribution variants) x 8 detectors + 4 scores behind
    # transforms, 2 settings' tables, collect, summary; + 3 combination jobs and their table;
    # the sweep points (issue 20: 3 + 2 values x 3 detectors) and each axis's table; the
    # base-model control (issue 28): the 8 detectors on its activations and the controls table
    assert plan.summarise(jobs)["scoring"]["jobs"] == (
        5 * 8 + 4 + 2 + 1 + 1 + 3 + 1 + 5 * 3 + 2 + 8 + 1
    )


def test_default_config_costs_what_its_measured_run_took():
    """The calibration run itself: config.yaml as it was then (tests/data/calibration_run.yaml)
    took 36.5 min on 2 cores (spec/cpu_levers.md), i.e. 1.22 core-hours; the plan (per-stage
    rates x that run's counts + small jobs) is within 30 % of it."""
    config = plan.load_config(REPO / "tests/data/calibration_run.yaml")
    jobs, facts = plan.plan_jobs(config, plan.PlanOptions(results=Path("/nonexistent")))
    assert not facts["on_gpu"]
    cpu_h = sum(j.cpu_core_s for j in jobs) / 3600
    assert cpu_h == pytest.approx(2 * 36.5 / 60, rel=0.3)
    assert all(j.gpu_s == 0 and j.gpu_mem == 0 for j in jobs)


def test_transforms_are_planned_on_the_gpu_when_the_run_is_on_cuda():
    """Issue 31: with `device: cuda` the fits are GPU jobs (seconds, memory from
    transforms/sizing.py, which the fit_transform rule's resources also read); on the CPU they
    cost core-seconds and no GPU. The disk is the same either way."""
    from quirkymad.transforms.sizing import transform_fit

    config = plan.load_config(PAPER)
    assert config["device"] == "cuda"
    on = [j for j in plan.plan_jobs(config, plan.PlanOptions())[0] if j.rule == "fit_transform"]
    off = [j for j in plan.plan_jobs({**config, "device": "cpu"}, plan.PlanOptions())[0]
           if j.rule == "fit_transform"]  # fmt: skip
    assert on and all(j.gpu_s > 0 and j.cpu_core_s == 0 and j.gpu_mem > 0 for j in on)
    assert all(j.gpu_s == 0 and j.gpu_mem == 0 and j.cpu_core_s > 0 for j in off)
    assert [j.disk for j in on] == [j.disk for j in off]
    assert sum(j.gpu_s for j in on) < sum(j.cpu_core_s for j in off) / 50
    sae = transform_fit("sae", config["transforms"]["sae"], 4096, 2, 1875, 15500, on_gpu=True)
    assert max(j.gpu_mem for j in on) == pytest.approx(sae.gpu_bytes)
    assert sae.gpu_bytes < 10 * 2**30  # a 268M-parameter layer with Adam fits any data-centre GPU


def test_an_overlay_is_planned_as_snakemake_merges_it(capsys):
    """`--configfile config.yaml config/seeds.yaml`: the seeds overlay's keys over the default."""
    seeds = yaml_load(REPO / "config" / "seeds.yaml")["seeds"]
    config = plan.load_config(REPO / "config.yaml", REPO / "config" / "seeds.yaml")
    assert (
        config["seeds"] == seeds
        and config["datasets"] == plan.load_config(REPO / "config.yaml")["datasets"]
    )
    args = ["--configfile", str(REPO / "config.yaml"), str(REPO / "config" / "seeds.yaml"),
            "--results", "/nonexistent/r"]  # fmt: skip
    assert plan.main(args) == 0
    jobs, _ = plan.plan_jobs(config, plan.PlanOptions())
    assert re.search(rf"^total\s+{len(jobs)}\s", capsys.readouterr().out, re.M)
    assert sum(j.rule == "finetune_adapter" for j in jobs) == len(seeds) * len(config["datasets"])


def test_a_rule_without_a_cost_is_one_line(monkeypatch):
    monkeypatch.delitem(plan.ROW_COSTS, "plot_loss_curve")
    with pytest.raises(plan.QuirkyError, match="no cost for rule.*plot_loss_curve"):
        plan.plan_jobs(plan.load_config(TINY), plan.PlanOptions())


def yaml_load(path):
    import yaml

    return yaml.safe_load(Path(path).read_text())
