"""End to end: the Snakefile on the tiny config, then what reruns after config edits."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import xarray as xr
import yaml

from smk import (
    REPO,
    finished_run,
    planned_jobs,
    planned_jobs_and_figures,
    planned_outputs,
    snakemake,
    write_config,
)

pytestmark = pytest.mark.slow

TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())
# Sweeps of the tiny run (issue 20): every axis scores the default detectors.
SWEEP_FIGURES = {f"sweep_{axis}" for axis in TINY["sweeps"]}


def _sweep_points(detector=None, sweeps=None):
    """Sweep points per model × dataset (the tiny run has one of each)."""
    from quirkymad.workflow.sweeps import sweep_points

    points = sweep_points({"sweeps": TINY["sweeps"] if sweeps is None else sweeps})
    return sum(1 for _, _, d, _ in points if detector in (None, d))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return finished_run(tmp_path_factory, "wf", "tiny.yaml", TINY)


def test_outputs(run):
    wd, _ = run
    table = pd.read_csv(wd / "results/tables/auroc.csv")
    # Combination jobs' rows (issue 19) are checked in test_combination_rows; these are the
    # plain scoring jobs'.
    combined = pd.read_parquet(wd / "results/tables/auroc_combinations.parquet")
    table = table.iloc[: len(table) - len(combined)]
    assert set(table["combination"]) == {"none", "mean"}
    assert (table["combination"] == "mean").eq(table["layer"].astype(str) == "all").all()
    # Raw features on all layers except probe shift (a probe per layer p > min(L): layer 2);
    # transforms only on activations (flow: auto layers; sae: [2]).
    raw = {"activations": ["1", "2", "all"], "attribution": ["1", "2", "all"]}
    raw["probe_shift"] = ["2", "all"]
    raw["attribution_pcs"] = raw["attribution_grad_norm"] = ["1", "2", "all"]  # issue 19
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
    # tiny.yaml's concat QUE on probe shift fills B1's probe-QUE-concat-mean
    concat = cmp[cmp["b1_name"] == "probe-QUE-concat-mean"]
    assert "ok" in set(concat["status"]) and concat["our_auroc"].dropna().between(0, 1).all()
    sep = pd.read_csv(wd / "results/tables/separation_summary.csv")
    assert list(sep["dataset"]) == ["addition"] and (sep["S_layer_mean"] > 0).all()
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/activations.zarr")
    assert ds["activations"].dims == ("example", "layer", "d_model")
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/attribution.zarr")
    assert ds["attribution"].dims == ("example", "layer", "head")
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/probe_shift.zarr")
    assert ds["probe_shift"].dims == ("example", "layer", "column")
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/attribution_pcs.zarr")
    assert ds["attribution_pcs"].dims == ("example", "layer", "component", "head")
    assert ds.sizes["component"] == TINY["features"]["attribution_pcs"]["n_components"]
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/attribution_grad_norm.zarr")
    assert ds["attribution_grad_norm"].dims == ("example", "layer", "head")
    assert (wd / "results/datasets/addition/card.json").is_file()
    assert (wd / "results/tiny-random/addition/adapter/adapter_model.safetensors").is_file()


def test_controls_table(run):
    """Issue 28, item 2: a controls row per scoring job; the base control beside every raw
    detector on activations; refitted intervals on the transductive detectors' rows."""
    wd, _ = run
    ctl = pd.read_csv(wd / "results/tables/controls.csv")
    auroc = pd.read_csv(wd / "results/tables/auroc.csv")
    plain = auroc[(auroc["layer"] == "all") & (auroc["combination"] == "mean")]
    # merge and ensemble combinations (issue 19) name their parts with "+": not scoring jobs
    combined = plain["feature"].str.contains("+", regex=False) | plain["detector"].str.contains(
        "+", regex=False
    )
    plain = plain[~combined]
    assert len(ctl) == len(plain)
    raw_acts = (ctl["feature"] == "activations") & (ctl["transform"] == "none")
    assert ctl.loc[raw_acts, "auroc_base"].between(0, 1).all()
    assert ctl.loc[~raw_acts, "auroc_base"].isna().all()
    assert ctl["p_chance_gender"].between(0, 1, inclusive="right").all()
    assert ctl["auroc_gender_only"].nunique() == 1  # one test mix
    refits = plain.set_index(["feature", "transform", "detector"])["ci_name_refits"]
    for d in ("que", "likelihood_ratio", "gaussian_em"):
        assert (refits.xs(d, level="detector") == TINY["scoring"]["n_refit"]).all(), d
    assert (refits.xs("mahalanobis", level="detector") == 0).all()


def test_combination_rows(run):
    """Every combination of tiny.yaml has its job and its AUROC rows (issue 19), with the same
    statistics as the plain rows, after them in auroc.csv; the summaries name them."""
    wd, _ = run
    table = pd.read_csv(wd / "results/tables/auroc.csv")
    combined = table.iloc[len(table) - 4 - 3 :]
    rows = {(r.feature, r.detector, r.layer, r.combination) for r in combined.itertuples()}
    assert rows == {
        ("probe_shift", "que", "all", "concat"),
        ("activations+attribution", "mahalanobis", "1", "none"),
        ("activations+attribution", "mahalanobis", "2", "none"),
        ("activations+attribution", "mahalanobis", "all", "mean"),
        ("activations", "mahalanobis+que", "1", "none"),
        ("activations", "mahalanobis+que", "2", "none"),
        ("activations", "mahalanobis+que", "all", "mean"),
    }
    assert combined["auroc"].between(0, 1).all() and combined["p_chance"].notna().all()
    assert (combined["ci_low_name"] <= combined["ci_high_name"]).all()
    assert set(combined.loc[combined["detector"] == "mahalanobis+que", "setting"]) == {"offline"}
    for job in ("concat/probe_shift/que", "merge/activations+attribution/mahalanobis",
                "ensemble/activations/mahalanobis+que"):  # fmt: skip
        out = wd / "results/tiny-random/addition/combinations" / job
        assert (out / "scores.parquet").is_file() and (out / "auroc.parquet").is_file(), job
    overall = pd.read_csv(wd / "results/tables/auroc_summary_overall.csv")
    named = set(zip(overall["feature"], overall["detector"], overall["combination"]))
    assert {("probe_shift", "que", "concat"), ("probe_shift", "que", "mean"),
            ("activations", "mahalanobis+que", "mean")} <= named  # fmt: skip


def test_adding_a_combination_reruns_only_its_job(run, tmp_path):
    """On the finished run: another concat job is that job, the combinations' table and the
    tables downstream of auroc.parquet; no figure (they read the per-setting tables)."""
    wd, _ = run
    combos = {**TINY["combinations"], "concat": {"features": ["probe_shift", "attribution"],
                                                 "detectors": ["que"]}}  # fmt: skip
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", {**TINY, "combinations": combos}))
    assert jobs == {
        "score_combination": 1, "collect_auroc_combinations": 1, "collect_auroc": 1,
        "summarize_auroc": 1, "reference_comparison": 1, "all": 1,
    }  # fmt: skip


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
        "plot_figure": 8 + len(TINY["sweeps"]),
        # its base-model control on activations and the controls table (issue 28)
        "score_control": 1, "collect_controls": 1,
        # the combinations with Mahalanobis (merge; ensemble with QUE) and their table
        "score_combination": 2, "collect_auroc_combinations": 1,
        # explanations of Mahalanobis scores (activations raw and flow, attribution), their
        # collected tables, and the explanation figure (activations/none/mahalanobis)
        "explain_scores": 3, "collect_explanations": 3,
        # Mahalanobis' sweep points (issue 20), each axis's table and figure
        "score_sweep_point": _sweep_points("mahalanobis"), "collect_sweep": len(TINY["sweeps"]),
        "all": 1,
    }  # fmt: skip
    assert figures == {
        "online_auroc_per_layer", "online_auroc_aggregated", "auroc_vs_separation",
        "auroc_vs_quirkiness", "attribution_auroc_vs_quirkiness", "explanations",
        "comparisons_forest", "controls", *SWEEP_FIGURES,
    }  # fmt: skip


def test_offline_detector_setting_redraws_only_offline_figures(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "detectors": {**TINY["detectors"], "que": {"alpha": 2}}}
    jobs, figures = planned_jobs_and_figures(wd, write_config(tmp_path / "c.yaml", changed))
    # QUE is offline: its scores, the offline table, and the offline figures only.
    assert jobs == {
        "score_detector": len(TINY["features"]), "collect_auroc_setting": 1, "collect_auroc": 1,
        "summarize_auroc": 1, "reference_comparison": 1, "compare_scores": 1,
        "plot_figure": 4 + len(TINY["sweeps"]), "explain_scores": 1, "collect_explanations": 1,
        "score_control": 1, "collect_controls": 1,  # its base-model control (issue 28)
        "score_sweep_point": _sweep_points("que"), "collect_sweep": len(TINY["sweeps"]), "all": 1,
        # the combinations with QUE (concat on probe shift; ensemble with Mahalanobis)
        "score_combination": 2, "collect_auroc_combinations": 1,
    }  # fmt: skip
    assert figures == {"offline_auroc_per_layer", "offline_auroc_aggregated", "comparisons_forest",
                       "controls", *SWEEP_FIGURES}  # fmt: skip


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


def test_adding_a_trigger_dataset_reruns_nothing_of_the_name_datasets(run, tmp_path):
    """Issue 30: `addition_trigger` beside the finished name dataset plans its own jobs, the
    collectors and the figures, nothing under the name dataset's paths; run to the end (in a
    copy), its AUROC rows carry trigger vs clean / vs decoy, the name dataset's do not."""
    wd = tmp_path / "wd"
    shutil.copytree(run[0], wd, symlinks=True)
    config = {**TINY, "datasets": {**TINY["datasets"], "addition_trigger": {"n_base": 1500}},
              "figures": {**TINY["figures"], "trigger_mechanism": {}}}  # fmt: skip
    cfg = write_config(wd / "trigger.yaml", config)
    jobs = planned_outputs(wd, cfg)
    outputs = {o for _, outs in jobs for o in outs}
    assert not [o for o in outputs if "/addition/" in o], "a name-dataset artifact reruns"
    assert "prepare_model" not in {r for r, _ in jobs}  # base activations are per dataset
    per_dataset = {r for r, outs in jobs if any("addition_trigger" in o for o in outs)}
    assert {"build_dataset", "finetune_adapter", "extract_activations", "score_detector",
            "evaluate_quirkiness", "score_control"} <= per_dataset  # fmt: skip
    out = snakemake(wd, cfg, "--cores", "2")
    assert out.returncode == 0, out.stderr[-5000:]
    auroc = pd.read_parquet(wd / "results/tables/auroc.parquet")
    trig = auroc[auroc["dataset"] == "addition_trigger"]
    assert trig[["auroc_vs_clean", "auroc_vs_decoy", "ci_low_vs_decoy"]].notna().all().all()
    assert auroc.loc[auroc["dataset"] == "addition", "auroc_vs_decoy"].isna().all()
    quirk = pd.read_parquet(wd / "results/tables/quirkiness.parquet").set_index("dataset")
    assert pd.notna(quirk.loc["addition_trigger", "a_decoy"])
    assert pd.isna(quirk.loc["addition", "a_decoy"])
    card = json.loads((wd / "results/datasets/addition_trigger/card.json").read_text())
    assert card["quirk"] == "trigger"
    assert (wd / "results/figures/trigger_mechanism.png").stat().st_size > 10_000
    assert planned_jobs(wd, cfg) == {}


# Seeds as replicates (issue 18): the rules that run once per seed.
PER_SEED = ("finetune_adapter", "plot_loss_curve", "extract_activations", "extract_attribution",
            "extract_probe_shift", "evaluate_quirkiness", "fit_transform", "score_detector", "analyze_separation",
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
    upstream = {
        "build_dataset",
        "prepare_model",
        "extract_base_activations",
        "extract_control_activations",
        "score_control",
    }  # the base model has no seed
    assert not upstream & set(jobs)
    assert set(jobs) - set(PER_SEED) <= {
        "collect_auroc_setting", "collect_auroc", "summarize_auroc", "summarize_seeds",
        "reference_comparison", "compare_scores", "collect_quirkiness", "collect_separation",
        "collect_explanations", "collect_controls", "plot_figure", "all"}  # fmt: skip
    out = snakemake(wd, cfg, "--cores", "2")
    assert out.returncode == 0, out.stderr[-5000:]
    assert (wd / "results/tiny-random/seed1/addition/adapter").is_dir()
    for table in ("auroc", "quirkiness", "separation_summary", "comparisons"):
        assert set(pd.read_csv(wd / f"results/tables/{table}.csv")["seed"]) == {0, 1}, table
    seeds = pd.read_csv(wd / "results/tables/auroc_seeds.csv")
    # Combinations (concat, merge "a+b", ensemble "d1+d2") score the run's own seed only.
    joined = seeds["feature"] + seeds["detector"]
    combined = (seeds["combination"] == "concat") | joined.str.contains("+", regex=False)
    assert (seeds.loc[~combined, "n_seeds"] == 2).all()
    assert (seeds.loc[combined, "n_seeds"] == 1).all()
    assert (seeds["auroc_min"] <= seeds["auroc_max"]).all()
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
        "summarize_auroc": 1, "reference_comparison": 1, "compare_scores": 1, "plot_figure": 4,
        "explain_scores": 1, "collect_explanations": 1, "collect_controls": 1, "all": 1,
    }  # fmt: skip
    assert figures == {"online_auroc_per_layer", "online_auroc_aggregated", "comparisons_forest",
                       "controls"}  # fmt: skip


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
    # One job writes the attribution stores (shared passes), another the probe-shift store.
    assert jobs["extract_attribution"] == jobs["extract_probe_shift"] == 1


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


def test_probe_shift_setting_reruns_only_its_own_job_and_its_scores(run, tmp_path):
    """Probe shift has its own extraction job (issue 31: a probe that cannot be fitted must not
    take the attribution stores down with it): a probe-shift setting reruns that job, its
    scores and the combination reading it; not the attribution pass, activations, transforms
    or quirkiness."""
    wd, _ = run
    changed = {**TINY, "features": {**TINY["features"], "probe_shift": {"cv_folds": 3}}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    assert jobs["extract_probe_shift"] == 1
    assert jobs["score_detector"] == len(TINY["detectors"])  # probe shift is scored raw
    assert jobs["score_combination"] == 1  # concat on probe shift
    assert not {"extract_attribution", "extract_activations", "evaluate_quirkiness",
                "fit_transform"} & set(jobs)  # fmt: skip


def test_attribution_setting_leaves_probe_shift_alone(run, tmp_path):
    """The other direction: the attribution pass (attribution and [B1]'s variants) reruns
    without the probe-shift job."""
    wd, _ = run
    changed = {**TINY, "features": {**TINY["features"], "attribution": {"mean_cap": 50}}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    assert jobs["extract_attribution"] == 1 and "extract_probe_shift" not in jobs


def test_diagnostics_setting_reruns_only_quirkiness(run, tmp_path):
    """Quirkiness reads own-prompt log-odds from the activations store; its own setting reruns
    it and what shows it, no extraction."""
    wd, _ = run
    changed = {**TINY, "diagnostics": {"max_per_character": 30}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    assert jobs["evaluate_quirkiness"] == 1 and jobs["collect_quirkiness"] == 1
    assert not {"extract_activations", "extract_attribution", "score_detector"} & set(jobs)


def test_p_chance_setting_reruns_only_what_reports_p_chance(run, tmp_path):
    """`scoring.n_permutations` feeds p_chance, in the scoring and combination jobs' rows (and
    what reads them); sweep points compute none, so they do not rerun, nor does any model pass
    or transform."""
    wd, _ = run
    changed = {**TINY, "scoring": {**TINY["scoring"], "n_permutations": 50}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    (tmp_path / "fresh").mkdir()
    every = planned_jobs(tmp_path / "fresh", write_config(tmp_path / "f.yaml", TINY))
    assert jobs["score_detector"] == every["score_detector"]  # every scoring job
    assert jobs["score_combination"] == every["score_combination"]
    assert not {"score_sweep_point", "fit_transform", "extract_activations"} & set(jobs)


def test_autocast_reruns_every_model_pass(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "extract": {**TINY["extract"], "autocast": "bfloat16"}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    for rule in ("extract_activations", "extract_attribution", "extract_probe_shift",
                 "extract_base_activations", "extract_control_activations", "evaluate_quirkiness"):  # fmt: skip
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
        # sweeps (issue 20): an unknown axis; more trusted records than a store holds (its
        # cap); a value the built dataset's store cannot serve (60 untrusted Alice records)
        (lambda c: c["sweeps"].update({"difficulty": {}}), "unknown key sweeps.difficulty"),
        (
            lambda c: c["sweeps"]["n_trusted"].update({"values": [8, 61]}),
            "sweeps.n_trusted.values: 61 > the trusted records a store holds",
        ),
        (
            lambda c: c["sweeps"].update({"contamination": {"values": [0.5, 0], "size": 100}}),
            "sweeps.contamination.values: 0: 100 normal + 0 anomalous untrusted records asked",
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
    # (+ their base-model controls on activations, issue 28)
    want = {"score_detector": len(added) * len(TINY["features"]), "score_control": len(added)}
    assert {rule: n for rule, n in diff.items() if n} == want


def test_default_config_plans_the_embedded_model(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    jobs = planned_jobs(tmp_path, tmp_path / "config.yaml")
    n_datasets = len(yaml.safe_load((REPO / "config.yaml").read_text())["datasets"])
    assert jobs["prepare_model"] == 1
    assert jobs["finetune_adapter"] == jobs["plot_loss_curve"] == n_datasets
    # One model job per feature pass and dataset: activations, attribution, quirkiness
    # (opposing prompts only); the default leaves probe shift out (config.yaml).
    for rule in ("extract_activations", "extract_attribution", "evaluate_quirkiness"):
        assert jobs[rule] == n_datasets, rule
    assert "extract_probe_shift" not in jobs


# --- sweeps (issue 20): axes of difficulty ---


def test_sweep_tables_and_figures(run):
    wd, _ = run
    for axis, spec in TINY["sweeps"].items():
        table = pd.read_csv(wd / f"results/tables/sweep_{axis}.csv", dtype={"value": str})
        agg = table[table["layer"] == "all"]
        assert set(agg["detector"]) == {"mahalanobis", "lof", "que"}
        for _, g in agg.groupby("detector"):
            assert list(g["value"]) == [str(v) for v in spec["values"]]  # config order
        assert (
            agg["auroc"].between(0, 1).all() and (agg["ci_low_name"] <= agg["ci_high_name"]).all()
        )
        # Draws: several per value below the whole pool, one for the whole pool.
        want = {str(v): 1 if v == "all" else spec["draws"] for v in spec["values"]}
        assert agg.groupby("value")["n_draws"].max().to_dict() == want
        png = (wd / f"results/figures/sweep_{axis}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
        assert (wd / f"results/figures/sweep_{axis}.pdf").read_bytes().startswith(b"%PDF")
    sizes = pd.read_csv(wd / "results/tables/sweep_trusted_difficulty.csv")
    assert sizes["n_trusted"].nunique() == 1  # the same size for every band
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/activations.zarr")
    roles = set(ds["role"].values.astype(object))
    # trusted_difficulty's records are in the activation store; no store holds what no sweep uses
    assert {"trusted_medium", "trusted_hard"} <= roles and "test_normal_easy" not in roles
    ds = xr.open_zarr(wd / "results/tiny-random/addition/features/attribution.zarr")
    assert not {"trusted_medium", "trusted_hard"} & set(ds["role"].values.astype(object))


def test_adding_a_sweep_value_computes_only_that_point(run, tmp_path):
    wd, _ = run
    n_trusted = {**TINY["sweeps"]["n_trusted"], "values": [8, 16, 32, "all"]}
    changed = {**TINY, "sweeps": {**TINY["sweeps"], "n_trusted": n_trusted}}
    jobs, figures = planned_jobs_and_figures(wd, write_config(tmp_path / "c.yaml", changed))
    # One point per detector at the new value, that axis's table and figure.
    assert jobs == {"score_sweep_point": 3, "collect_sweep": 1, "plot_figure": 1, "all": 1}
    assert figures == {"sweep_n_trusted"}


def test_a_sweep_setting_reruns_only_its_axis(run, tmp_path):
    wd, _ = run
    n_trusted = {**TINY["sweeps"]["n_trusted"], "draws": 3}
    changed = {**TINY, "sweeps": {**TINY["sweeps"], "n_trusted": n_trusted}}
    jobs = planned_jobs(wd, write_config(tmp_path / "c.yaml", changed))
    # "all" takes the whole pool once, whatever the draws: its points stay.
    points = _sweep_points(sweeps={"n_trusted": {**n_trusted, "values": [8, 16]}})
    assert jobs == {"score_sweep_point": points, "collect_sweep": 1, "plot_figure": 1, "all": 1}


def test_a_detector_setting_reruns_only_its_sweep_points(run, tmp_path):
    wd, _ = run
    changed = {**TINY, "detectors": {**TINY["detectors"], "lof": {"k": 10}}}
    jobs, figures = planned_jobs_and_figures(wd, write_config(tmp_path / "c.yaml", changed))
    assert jobs["score_sweep_point"] == _sweep_points("lof")
    assert jobs["collect_sweep"] == len(TINY["sweeps"]) and figures >= SWEEP_FIGURES
    assert not {"extract_activations", "extract_attribution", "fit_transform"} & set(jobs)


def test_sweeps_config_plans_every_axis_on_the_embedded_model(tmp_path):
    """config/sweeps.yaml, an overlay on config.yaml: its points on every dataset; extraction
    of the activation stores only (with the trusted_difficulty records), same fine-tunes."""
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    sweeps = yaml.safe_load((REPO / "config/sweeps.yaml").read_text())
    assert set(sweeps) == {"sweeps"}
    assert set(sweeps["sweeps"]) >= {"n_trusted", "untrusted", "contamination",
                                     "trusted_difficulty"}  # fmt: skip
    plain = planned_jobs(tmp_path, write_config(tmp_path / "config.yaml", base))
    jobs = planned_jobs(tmp_path, write_config(tmp_path / "s.yaml", {**base, **sweeps}))
    n = len(base["datasets"]) * len(base["models"])
    diff = {rule: jobs.get(rule, 0) - plain.get(rule, 0) for rule in jobs.keys() | plain.keys()}
    assert {rule: k for rule, k in diff.items() if k} == {
        "score_sweep_point": n * _sweep_points(sweeps=sweeps["sweeps"]),
        "collect_sweep": len(sweeps["sweeps"]), "plot_figure": len(sweeps["sweeps"]),
    }  # fmt: skip


def test_combinations_plan_only_their_own_jobs(tmp_path):
    """From scratch, with and without tiny.yaml's combinations: the difference is one job per
    model × dataset × combination and their table (issue 19); one more entry adds one job."""
    without = {**TINY, "combinations": {}}
    base = planned_jobs(tmp_path, write_config(tmp_path / "without.yaml", without))
    more = planned_jobs(tmp_path, write_config(tmp_path / "with.yaml", TINY))
    diff = {rule: more.get(rule, 0) - base.get(rule, 0) for rule in more.keys() | base.keys()}
    assert {rule: n for rule, n in diff.items() if n} == {
        "score_combination": 3, "collect_auroc_combinations": 1,
    }  # fmt: skip
    ens = {**TINY["combinations"]["ensemble"], "features": ["activations", "attribution"]}
    again = {**TINY, "combinations": {**TINY["combinations"], "ensemble": ens}}
    most = planned_jobs(tmp_path, write_config(tmp_path / "again.yaml", again))
    diff = {rule: most.get(rule, 0) - more.get(rule, 0) for rule in most.keys() | more.keys()}
    assert {rule: n for rule, n in diff.items() if n} == {"score_combination": 1}


def test_attribution_variants_plan_only_their_scoring_jobs(tmp_path):
    """From scratch, with and without the pcs / grad_norm variants (issue 19): they come from
    the shared attribution job (no new model job); the difference is their scoring jobs."""
    without = {**TINY, "features": {k: v for k, v in TINY["features"].items()
                                    if k not in ("attribution_pcs", "attribution_grad_norm")}}  # fmt: skip
    base = planned_jobs(tmp_path, write_config(tmp_path / "without.yaml", without))
    more = planned_jobs(tmp_path, write_config(tmp_path / "with.yaml", TINY))
    diff = {rule: more.get(rule, 0) - base.get(rule, 0) for rule in more.keys() | base.keys()}
    assert {rule: n for rule, n in diff.items() if n} == {
        "score_detector": 2 * len(TINY["detectors"])
    }
