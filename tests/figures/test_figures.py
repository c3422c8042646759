"""Every registered figure draws a non-empty PNG and PDF from tiny synthetic tables."""

import numpy as np
import pandas as pd
import pytest

from quirkymad.core.errors import QuirkyError
from quirkymad.figures import FIGURES, draw


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    rows, sep = [], []
    for model in ("m1", "m2"):
        for dataset in ("addition", "hemisphere", "sentiment"):
            for layer in [*range(1, 5), "all"]:
                a = rng.uniform(0.4, 1)
                rows.append({"model": model, "dataset": dataset, "feature": "activations",
                             "transform": "none", "detector": "mahalanobis", "setting": "online",
                             "layer": str(layer), "auroc": a, "ci_low_name": a - 0.05,
                             "ci_high_name": min(1, a + 0.05), "p_chance": rng.uniform(0, 0.1),
                             "n_normal": 50, "n_anomalous": 50})  # fmt: skip
                if layer != "all":
                    sep.append({"model": model, "dataset": dataset, "layer": layer,
                                "S": rng.uniform(0.01, 2), "R": 0.1})  # fmt: skip
    per_layer = pd.DataFrame(sep)
    summary = per_layer.groupby(["model", "dataset"], as_index=False)["S"].mean()
    summary = summary.rename(columns={"S": "S_layer_mean"})
    for col in ("logit_separation", "logit_variance", "ab_logit_separation"):
        summary[col] = rng.uniform(0.1, 5, size=len(summary))
    paths = {"auroc": d / "auroc.parquet", "per_layer": d / "pl.parquet", "summary": d / "s.parquet",
             "per_example": d / "pe.parquet", "quirkiness": d / "q.parquet"}  # fmt: skip
    pe = []
    for model in ("m1", "m2"):
        for dataset in ("addition", "hemisphere", "sentiment"):
            for prompt in ("own", "opposing"):
                for pc in ("Alice", "Bob"):
                    n = 30
                    pe.append(pd.DataFrame({
                        "model": model, "dataset": dataset, "prompt": prompt,
                        "prompt_character": pc, "agree": rng.random(n) < 0.5,
                        "log_odds_alice_label": rng.normal(1, 2, n),
                        "log_odds_bob_label": rng.normal(-1, 2, n)}))  # fmt: skip
    pd.concat(pe).to_parquet(paths["per_example"])
    q = summary[["model", "dataset"]].copy()
    for col in (
        "loss_alice_labels_alice_prompts",
        "loss_bob_labels_bob_prompts",
        "loss_bob_labels_alice_prompts",
        "loss_alice_labels_bob_prompts",
    ):
        q[col] = rng.uniform(0.1, 2, size=len(q))
    q["quirkiness_min"] = rng.normal(0.5, 1, size=len(q))
    q.to_parquet(paths["quirkiness"])
    online = pd.DataFrame(rows)
    offline = online.assign(detector="que", setting="offline", auroc=online["auroc"] ** 0.5)
    attribution = online.assign(feature="attribution", auroc=online["auroc"] ** 2)
    # A trigger dataset's rows (issue 30): trigger vs clean and vs decoy beside the AUROC.
    trigger = pd.concat([online, offline]).query("dataset == 'addition'")
    trigger = trigger.assign(dataset="addition_trigger")
    for other, shift in (("clean", 0.2), ("decoy", -0.1)):
        a = (trigger["auroc"] + shift).clip(0, 1)
        trigger[f"auroc_vs_{other}"], trigger[f"ci_low_vs_{other}"] = a, a - 0.1
        trigger[f"ci_high_vs_{other}"] = (a + 0.1).clip(0, 1)
    pd.concat([online, offline, attribution, trigger]).to_parquet(paths["auroc"])
    per_layer.to_parquet(paths["per_layer"])
    summary.to_parquet(paths["summary"])
    paths["directions"] = d / "directions.parquet"  # explain_scores' table (issue 21)
    dirs = []
    for model in ("m1", "m2"):
        for dataset in ("addition", "hemisphere", "sentiment"):
            for layer in [*map(str, range(1, 5)), "all"]:
                k = 4
                comp = [f"layer {i}" for i in range(1, 5)] if layer == "all" else [
                    f"eig{i}" for i in range(k)]  # fmt: skip
                dirs.append(pd.DataFrame({
                    "model": model, "dataset": dataset, "feature": "activations",
                    "transform": "none", "detector": "mahalanobis", "layer": layer,
                    "component": comp, "excess_rank": range(1, k + 1),
                    "excess": rng.normal(0, 1, k), "share_anomalous": rng.uniform(0, 0.5, k),
                    "share_normal": rng.uniform(0, 0.5, k), "cos_alice_bob": rng.uniform(0, 1, k),
                    "promoted": [[" Yes", " 7", "ing"]] * k}))  # fmt: skip
    pd.concat(dirs).to_parquet(paths["directions"])
    comp = [{"model": m, "dataset": ds, "pair": p, "diff": dd, "ci_low": dd - 0.1,
             "ci_high": dd + 0.1, "p_value": abs(dd)} for m in ("m1", "m2")
            for ds in ("addition", "sentiment") for p in ("que_vs_mahalanobis", "flow_vs_raw")
            for dd in [rng.uniform(-0.3, 0.3)]]  # fmt: skip
    paths["comparisons"] = d / "c.parquet"
    pd.DataFrame(comp).to_parquet(paths["comparisons"])
    paths["controls"] = d / "controls.parquet"  # issue 28: one row per aggregated score
    ctl = pd.concat([online, offline, attribution])
    ctl = ctl[ctl["layer"] == "all"].copy()
    for col, shift in (("male", -0.1), ("female", 0.05), ("base", None), ("gender_only", None)):
        a = rng.uniform(0.4, 0.7, len(ctl)) if shift is None else (ctl["auroc"] + shift).clip(0, 1)
        ctl[f"auroc_{col}"], ctl[f"ci_low_name_{col}"] = a, a - 0.08
        ctl[f"ci_high_name_{col}"] = a + 0.08
    ctl["p_chance_gender"] = rng.uniform(0, 0.1, len(ctl))
    ctl.to_parquet(paths["controls"])
    return paths


# The sweep figures read a collected sweep table; tests/test_sweeps.py draws them.
DRAWN_HERE = sorted(n for n in FIGURES if not n.startswith("sweep_"))


@pytest.mark.parametrize("name", DRAWN_HERE)
def test_figure_draws(name, tables, tmp_path):
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    draw(name, tables, png, pdf)
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    assert pdf.read_bytes().startswith(b"%PDF")


def test_unknown_figure_and_missing_table(tables, tmp_path):
    with pytest.raises(QuirkyError, match="unknown figure"):
        draw("fig99", tables, tmp_path / "a.png", tmp_path / "a.pdf")
    with pytest.raises(QuirkyError, match="missing input tables"):
        draw(
            "auroc_vs_separation",
            {"auroc": tables["auroc"]},
            tmp_path / "a.png",
            tmp_path / "a.pdf",
        )


def test_offline_figure_without_offline_rows_says_why(tables, tmp_path):
    online = pd.read_parquet(tables["auroc"]).query("setting == 'online'")
    online.to_parquet(tmp_path / "a.parquet")
    with pytest.raises(ValueError, match="no offline rows: enable an offline detector"):
        draw(
            "offline_auroc_per_layer",
            {"auroc": tmp_path / "a.parquet"},
            tmp_path / "x.png",
            tmp_path / "x.pdf",
        )


@pytest.fixture(scope="module")
def seeded_tables(tables, tmp_path_factory):
    """The same tables from two replicate seeds (issue 18): seed 1's AUROCs shifted."""
    d = tmp_path_factory.mktemp("seeded")
    out = {}
    for name, path in tables.items():
        df = pd.read_parquet(path)
        one = df.copy()
        if "auroc" in one:
            one["auroc"] = (one["auroc"] - 0.1).clip(0, 1)
        out[name] = d / f"{name}.parquet"
        pd.concat([df.assign(seed=0), one.assign(seed=1)]).to_parquet(out[name])
    return out


@pytest.mark.parametrize("name", DRAWN_HERE)
def test_figure_draws_with_two_seeds(name, seeded_tables, tmp_path):
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    draw(name, seeded_tables, png, pdf)
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000


def test_auroc_figures_draw_the_mean_and_range_over_seeds(seeded_tables):
    from quirkymad.figures.auroc import _select, over_seeds

    df = _select(pd.read_parquet(seeded_tables["auroc"]), "online")
    got = over_seeds(df)
    assert len(got) == len(df) // 2
    row = got.iloc[0]
    assert row["lo"] <= row["auroc"] <= row["hi"] and len(row["seed_aurocs"]) == 2
    assert row["auroc"] == pytest.approx(np.mean(row["seed_aurocs"]))
