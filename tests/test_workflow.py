"""End to end: the Snakefile on the tiny config, then what reruns after config edits."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import xarray as xr
import yaml

from smk import REPO, planned_jobs, planned_jobs_and_figures, snakemake, write_config

pytestmark = pytest.mark.slow

TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    wd = tmp_path_factory.mktemp("wf")
    cfg = write_config(wd / "tiny.yaml", TINY)
    out = snakemake(wd, cfg, "--cores", "2")
    assert out.returncode == 0, out.stderr[-5000:]
    return wd, cfg


def test_outputs(run):
    wd, _ = run
    table = pd.read_csv(wd / "results/tables/auroc.csv")
    # Raw features on all layers except probe shift (a probe per layer p > min(L): layer 2);
    # transforms only on activations (flow: auto layers; sae: [2]).
    raw = {"activations": ["1", "2", "all"], "attribution": ["1", "2", "all"]}
    raw["probe_shift"] = ["2", "all"]
    transformed = {"flow": ["1", "2", "all"], "sae": ["2", "all"]}
    assert set(table["feature"]) == set(TINY["features"])
    for (feature, transform, _), g in table.groupby(["feature", "transform", "detector"]):
        want = raw[feature] if transform == "none" else transformed[transform]
        assert transform == "none" or feature == "activations"
        assert list(g["layer"].astype(str)) == want
    assert table["auroc"].between(0, 1).all()
    lo, hi = table["ci_low_example"], table["ci_high_example"]
    assert (lo <= table["auroc"]).all() and (table["auroc"] <= hi).all()
    assert (table["ci_low_name"] <= table["ci_high_name"]).all()
    assert table["p_chance"].between(0, 1, inclusive="right").all()
    assert set(table["model"]) == {"tiny-random"}
    pairs = set(zip(table["transform"], table["detector"]))
    assert pairs == {("none", d) for d in TINY["detectors"]} | {
        (t, d) for t, spec in TINY["transforms"].items() for d in spec["detectors"]
    }
    for transform, train_store in [("flow", "activations.zarr"), ("sae", "activations_base.zarr")]:
        fitted = wd / f"results/tiny-random/addition/transforms/activations/{transform}"
        info = json.loads((fitted / "transform.json").read_text())
        assert (fitted / "weights.safetensors").is_file()
        assert info["layers"] == [int(x) for x in transformed[transform][:-1]]
        assert info["train_store"].endswith(train_store) and info["n_train"] > 0
        assert info["params"]["steps"] == TINY["transforms"][transform]["steps"]
    assert set(table.loc[table["detector"] == "que", "setting"]) == {"offline"}
    for name in ("likelihood_ratio", "gaussian_em"):
        assert set(table.loc[table["detector"] == name, "setting"]) == {"offline"}
    for name in TINY["figures"]:
        png = (wd / f"results/figures/{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, name
        assert (wd / f"results/figures/{name}.pdf").read_bytes().startswith(b"%PDF"), name
    cmp = pd.read_csv(wd / "results/tables/reference_comparison.csv")
    ours = cmp[cmp["status"] == "ok"]
    assert set(ours["model"]) == {"tiny-random"} and ours["our_auroc"].between(0, 1).all()
    assert {"activations-PCA-Mahalanobis", "activations-QUE"} <= set(ours["b1_name"])
    assert set(cmp.loc[cmp["combination"] == "concat", "status"]) == {"not implemented"}
    sep = pd.read_csv(wd / "results/tables/separation_summary.csv")
    assert list(sep["dataset"]) == ["addition"] and (sep["S_layer_mean"] > 0).all()
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/activations.zarr")
    assert ds["activations"].dims == ("example", "layer", "d_model")
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/attribution.zarr")
    assert ds["attribution"].dims == ("example", "layer", "head")
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/probe_shift.zarr")
    assert ds["probe_shift"].dims == ("example", "layer", "column")
    assert (wd / "results/datasets/addition/card.json").is_file()
    assert (wd / "results/tiny-random/addition/adapter/adapter_model.safetensors").is_file()


def test_explanations(run, capsys):
    """Every explained job wrote both tables; one figure per model x dataset; the CLI prints a
    record (the stage itself refuses components that do not sum to the job's scores)."""
    from quirkymad.cli import main

    wd, _ = run
    for job in TINY["explain"]["scores"]:
        out = wd / "results/tiny-random/addition/explain" / job
        rec = pd.read_parquet(out / "explanations.parquet")
        dirs = pd.read_parquet(out / "directions.parquet")
        assert rec["rank"].max() == TINY["explain"]["top_k"] and "all" in set(rec["layer"])
        assert dirs["cos_alice_bob"].notna().any()
    table = pd.read_parquet(wd / "results/tables/explain/activations/none/mahalanobis.parquet")
    assert set(table["dataset"]) == set(TINY["datasets"])
    job = wd / "results/tiny-random/addition/explain/activations/none/mahalanobis"
    record = pd.read_parquet(job / "explanations.parquet")["example"].iloc[0]
    assert main(["explain", record, "--store", str(job)]) == 0
    assert f"record {record}" in capsys.readouterr().out


def test_explain_setting_reruns_only_explanations(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "explain": {**TINY["explain"], "top_k": 4}}
    jobs, figures = planned_jobs_and_figures(wd, write_config(tmp_path / "c.yaml", changed))
    n = len(TINY["explain"]["scores"])
    assert jobs == {"explain_scores": n, "collect_explanations": n, "plot_figure": 1, "all": 1}
    assert figures == {"explanations"}
    # Another job on the list: that job only.
    more = {
        **TINY["explain"],
        "scores": [*TINY["explain"]["scores"], "activations/none/diag_mahalanobis"],
    }
    jobs = planned_jobs(wd, write_config(tmp_path / "m.yaml", {**TINY, "explain": more}))
    assert jobs == {"explain_scores": 1, "collect_explanations": 1, "all": 1}


def test_report_has_every_figure_and_the_table(run):
    wd, cfg = run
    out = snakemake(wd, cfg, "--report", "report.html", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    html = (wd / "report.html").read_text()
    for name in [*TINY["figures"], "auroc.csv"]:
        assert name in html, name
    assert "Produced by the run with models" in html


def test_nothing_reruns_after_a_full_run(run):
    wd, cfg = run
    assert planned_jobs(wd, cfg) == {}


def test_detector_setting_reruns_only_scoring_and_figures(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "detectors": {**TINY["detectors"], "mahalanobis": {"rcond": 1.0e-2}}}
    jobs, figures = planned_jobs_and_figures(wd, write_config(tmp_path / "c.yaml", changed))
    # Only Mahalanobis' scoring (raw, once per feature, and on the activations' flow outputs;
    # the flow is not refitted), the tables, and the figures that show Mahalanobis scores.
    assert jobs == {
        "score_detector": len(TINY["features"]) + 1, "collect_auroc_setting": 1,
        "collect_auroc": 1, "summarize_auroc": 1, "reference_comparison": 1, "compare_scores": 1,
        "plot_figure": 7,
        # explanations of Mahalanobis scores (activations raw and flow, attribution), their
        # collected tables, and the explanation figure (activations/none/mahalanobis)
        "explain_scores": 3, "collect_explanations": 3, "all": 1,
    }  # fmt: skip
    assert figures == {
        "online_auroc_per_layer", "online_auroc_aggregated", "auroc_vs_separation",
        "auroc_vs_quirkiness", "attribution_auroc_vs_quirkiness", "explanations",
        "comparisons_forest",
    }  # fmt: skip


def test_offline_detector_setting_redraws_only_offline_figures(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "detectors": {**TINY["detectors"], "que": {"alpha": 2}}}
    jobs, figures = planned_jobs_and_figures(wd, write_config(tmp_path / "c.yaml", changed))
    # QUE is offline: its scores, the offline table, and the offline figures only.
    assert jobs == {
        "score_detector": len(TINY["features"]), "collect_auroc_setting": 1, "collect_auroc": 1,
        "summarize_auroc": 1, "reference_comparison": 1, "compare_scores": 1, "plot_figure": 3,
        "explain_scores": 1, "collect_explanations": 1, "all": 1,
    }  # fmt: skip
    assert figures == {"offline_auroc_per_layer", "offline_auroc_aggregated", "comparisons_forest"}


def test_a_lost_intermediate_is_rebuilt(run):
    """`all` requests every per-job artifact, so a deleted one comes back (Snakemake skips a
    missing file whose consumers are up to date)."""
    wd, cfg = run
    lost = wd / "results/tiny-random/addition/scores/activations/none/mahalanobis"
    kept = lost.with_name("kept.bak")
    lost.rename(kept)
    try:
        assert planned_jobs(wd, cfg)["score_detector"] == 1
    finally:
        kept.rename(lost)
    assert planned_jobs(wd, cfg) == {}


# Seeds as replicates (issue 18): the rules that run once per seed.
PER_SEED = ("finetune_adapter", "plot_loss_curve", "extract_activations", "extract_attribution",
            "evaluate_quirkiness", "fit_transform", "score_detector", "analyze_separation",
            "explain_scores")  # fmt: skip


def test_adding_a_seed_reruns_only_per_seed_work(run, tmp_path):
    """`seeds: [0, 1]` after the one-seed run: seed 1's per-seed jobs (as many as one seed
    has), the collectors, the seed table and the figures; no dataset, model or base-model job,
    and none of seed 0's. Run in a copy: seed 1's tables carry both seeds."""
    wd = tmp_path / "wd"
    shutil.copytree(run[0], wd, symlinks=True)
    one = planned_jobs(tmp_path, run[1])  # from scratch: every job of one seed
    cfg = write_config(wd / "seeds.yaml", {**TINY, "seeds": [TINY["seed"], TINY["seed"] + 1]})
    jobs = planned_jobs(wd, cfg)
    assert {r: jobs.get(r, 0) for r in PER_SEED} == {r: one[r] for r in PER_SEED}
    assert jobs["summarize_seeds"] == 1
    upstream = {"build_dataset", "prepare_model", "extract_base_activations"}
    assert not upstream & set(jobs)
    assert set(jobs) - set(PER_SEED) <= {
        "collect_auroc_setting", "collect_auroc", "summarize_auroc", "summarize_seeds",
        "reference_comparison", "compare_scores", "collect_quirkiness", "collect_separation",
        "collect_explanations", "plot_figure", "all"}  # fmt: skip
    out = snakemake(wd, cfg, "--cores", "2")
    assert out.returncode == 0, out.stderr[-5000:]
    assert (wd / "results/tiny-random/seed1/addition/adapter").is_dir()
    for table in ("auroc", "quirkiness", "separation_summary", "comparisons"):
        assert set(pd.read_csv(wd / f"results/tables/{table}.csv")["seed"]) == {0, 1}, table
    seeds = pd.read_csv(wd / "results/tables/auroc_seeds.csv")
    assert (seeds["n_seeds"] == 2).all() and (seeds["auroc_min"] <= seeds["auroc_max"]).all()
    assert planned_jobs(wd, cfg) == {}


def test_transform_setting_refits_only_that_transform(run, tmp_path):
    wd, _ = run
    flow = {**TINY["transforms"]["flow"], "steps": 25}
    changed = {**TINY, "transforms": {**TINY["transforms"], "flow": flow}}
    jobs, figures = planned_jobs_and_figures(wd, write_config(tmp_path / "c.yaml", changed))
    # The flow and its two detectors; the tables; the online AUROC figures (Figs. 7 and 11
    # show raw-activation Mahalanobis only). Not the SAE, nor any extraction.
    assert jobs == {
        "fit_transform": 1, "score_detector": 2, "collect_auroc_setting": 1, "collect_auroc": 1,
        "summarize_auroc": 1, "reference_comparison": 1, "compare_scores": 1, "plot_figure": 3,
        "explain_scores": 1, "collect_explanations": 1, "all": 1,
    }  # fmt: skip
    assert figures == {"online_auroc_per_layer", "online_auroc_aggregated", "comparisons_forest"}


def test_adding_a_transform_detector_refits_nothing(run, tmp_path):
    wd, _ = run
    sae = {
        **TINY["transforms"]["sae"],
        "detectors": [*TINY["transforms"]["sae"]["detectors"], "lof"],
    }
    changed = {**TINY, "transforms": {**TINY["transforms"], "sae": sae}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    assert "fit_transform" not in jobs and jobs["score_detector"] == 1


def test_finetune_setting_reruns_from_finetuning(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "finetune": {**TINY["finetune"], "lr": 5.0e-3}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    assert "prepare_model" not in jobs and "build_dataset" not in jobs
    assert {"finetune_adapter", "plot_loss_curve", "extract_activations", "score_detector"} <= set(
        jobs
    )
    # One job writes the attribution and probe-shift stores (shared passes).
    assert jobs["extract_attribution"] == 1 and "extract_probe_shift" not in jobs


def test_checkpoint_frequency_reruns_nothing(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "finetune": {**TINY["finetune"], "checkpoint_every": 7}}
    assert planned_jobs(wd, write_config(tmp_path / "c.yaml", changed)) == {}


def test_dataset_finetune_override_reruns_from_finetuning_not_the_dataset(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "datasets": {"addition": {**TINY["datasets"]["addition"],
                                                 "finetune": {"patience": 5}}}}  # fmt: skip
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    assert "build_dataset" not in jobs and jobs["finetune_adapter"] == 1
    # The same value as the top level: the merged settings are unchanged, nothing reruns.
    same = {**TINY, "datasets": {"addition": {**TINY["datasets"]["addition"],
                                              "finetune": {"lr": TINY["finetune"]["lr"]}}}}  # fmt: skip
    assert planned_jobs(wd, write_config(tmp_path / "s.yaml", same)) == {}


def test_probe_shift_setting_reruns_only_the_attribution_job_and_its_scores(run, tmp_path):
    """Attribution and probe shift share one job (one μ pass, one gradient pass): a probe-shift
    setting reruns that job, hence both stores' scores; not activations, transforms or
    quirkiness."""
    wd, _ = run
    changed = {**TINY, "features": {**TINY["features"], "probe_shift": {"cv_folds": 3}}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    assert jobs["extract_attribution"] == 1 and jobs["score_detector"] == 2 * len(TINY["detectors"])
    assert not {"extract_activations", "evaluate_quirkiness", "fit_transform"} & set(jobs)


def test_diagnostics_setting_reruns_only_quirkiness(run, tmp_path):
    """Quirkiness reads own-prompt log-odds from the activations store; its own setting reruns
    it and what shows it, no extraction."""
    wd, _ = run
    changed = {**TINY, "diagnostics": {"max_per_character": 30}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    assert jobs["evaluate_quirkiness"] == 1 and jobs["collect_quirkiness"] == 1
    assert not {"extract_activations", "extract_attribution", "score_detector"} & set(jobs)


def test_autocast_reruns_every_model_pass(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "extract": {**TINY["extract"], "autocast": "bfloat16"}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    for rule in ("extract_activations", "extract_attribution", "extract_base_activations",
                 "evaluate_quirkiness"):  # fmt: skip
        assert jobs[rule] == 1, rule
    assert "finetune_adapter" not in jobs


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["datasets"].update({"nope": {}}), "unknown key datasets.nope"),
        (lambda c: c["detectors"].update({"magic": {}}), "unknown key detectors.magic"),
        (lambda c: c.update({"models": {"gpt-9": {}}}), "unknown key models.gpt-9"),
        (
            lambda c: c["datasets"]["addition"].update({"n_base": -5}),
            "datasets.addition.n_base: -5",
        ),
        (lambda c: c["extract"].update({"batch_size": "big"}), "extract.batch_size: 'big'"),
        (lambda c: c.update({"detektors": {}}), "unknown key detektors"),
        (lambda c: c["detectors"].update({"sae_l0": {}}), "detectors.sae_l0: scores sae outputs"),
        (
            lambda c: c.update({"layers": [1, 7]}),
            "layers: [7] out of range 1..2 for model tiny-random",
        ),
        (
            lambda c: c.update({"models": {"mistral-7b": {"path": "/nonexistent"}}}),
            "models.mistral-7b",
        ),
        (
            lambda c: c.update({"data": {"easy_quantile": 0.9, "hard_quantile": 0.75}}),
            "data.easy_quantile=0.9 and data.hard_quantile=0.75",
        ),
        (
            lambda c: c.update({"data": {"split_fractions": [0.6, 0.3, 0.3]}}),
            "data.split_fractions=(0.6, 0.3, 0.3) must be > 0, sum 1",
        ),
    ],
)
def test_bad_config_fails_before_any_job_and_keeps_results(run, tmp_path, edit, message):
    wd, _ = run
    bad = yaml.safe_load(yaml.safe_dump(TINY))
    edit(bad)
    before = {p: p.stat().st_mtime_ns for p in (wd / "results").rglob("*") if p.is_file()}
    out = snakemake(wd, write_config(tmp_path / "bad.yaml", bad), "--cores", "2", timeout=120)
    assert out.returncode != 0
    err = out.stderr.strip().splitlines()
    assert any(message in line and line.startswith("quirkymad: config:") for line in err), (
        out.stderr
    )
    after = {p: p.stat().st_mtime_ns for p in (wd / "results").rglob("*") if p.is_file()}
    assert after == before


def test_adding_detectors_plans_only_their_scoring_jobs(tmp_path):
    """Planned from scratch with and without the Gaussian-family detectors (one online, two
    offline): the difference is their scoring jobs (one per feature each; they are no
    transform's detectors) and nothing else (tables and figures are planned either way)."""
    added = {"pca_mahalanobis", "likelihood_ratio", "gaussian_em"}
    without = {**TINY, "detectors": {k: v for k, v in TINY["detectors"].items() if k not in added}}
    base = planned_jobs(tmp_path, write_config(tmp_path / "without.yaml", without))
    more = planned_jobs(tmp_path, write_config(tmp_path / "with.yaml", TINY))
    diff = {rule: more.get(rule, 0) - base.get(rule, 0) for rule in more.keys() | base.keys()}
    want = {"score_detector": len(added) * len(TINY["features"])}
    assert {rule: n for rule, n in diff.items() if n} == want


def test_default_config_plans_the_embedded_model(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    jobs = planned_jobs(tmp_path, tmp_path / "config.yaml")
    n_datasets = len(yaml.safe_load((REPO / "config.yaml").read_text())["datasets"])
    assert jobs["prepare_model"] == 1
    assert jobs["finetune_adapter"] == jobs["plot_loss_curve"] == n_datasets
    # One model job per feature pass and dataset: activations, attribution + probe shift
    # (shared), quirkiness (opposing prompts only).
    for rule in ("extract_activations", "extract_attribution", "evaluate_quirkiness"):
        assert jobs[rule] == n_datasets, rule
    assert "extract_probe_shift" not in jobs
