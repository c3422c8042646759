"""The run summary printed when the workflow finishes (issue 28, item 7), on synthetic tables."""

import io

import pandas as pd

from quirkymad.analysis.run_summary import print_run_summary, run_summary


def _tables(root):
    t = root / "tables"
    t.mkdir(parents=True)
    pd.DataFrame([
        {"model": "m", "dataset": "population", "seed": 0, "a_alice": 1.74, "b_bob": 4.51,
         "a_alice_val": 1.85, "b_bob_val": 4.55, "quirky": True},
        {"model": "m", "dataset": "hemisphere", "seed": 0, "a_alice": 0.1, "b_bob": -0.1,
         "a_alice_val": 0.2, "b_bob_val": 0.3, "quirky": False},
    ]).to_parquet(t / "quirkiness.parquet")  # fmt: skip
    rows = []
    for ds, auroc, quirky in (("population", 0.906, True), ("hemisphere", 0.55, False)):
        for layer, det in (("all", "mahalanobis"), ("21", "mahalanobis"), ("all", "que")):
            rows.append({"model": "m", "dataset": ds, "seed": 0, "feature": "activations",
                         "transform": "none", "detector": det, "combination": "mean",
                         "layer": layer, "auroc": auroc, "ci_low_name": auroc - 0.05,
                         "ci_high_name": auroc + 0.04, "p_chance": 0.001, "quirky": quirky})  # fmt: skip
    pd.DataFrame(rows).to_parquet(t / "auroc.parquet")
    pd.DataFrame(rows).to_csv(t / "auroc.csv")
    (root / "figures").mkdir()
    (root / "figures" / "online_auroc_aggregated.png").write_bytes(b"\x89PNG")


def test_summary_says_quirky_or_not_the_headline_and_where_to_look(tmp_path):
    _tables(tmp_path / "results")
    text = run_summary(tmp_path / "results", ["config.yaml", "config/seeds.yaml"])
    lines = text.splitlines()
    pop = next(x for x in lines if "m / population seed 0: yes" in x)
    assert "validation a = 1.85, b = 4.55" in pop and "test mix a = 1.74, b = 4.51" in pop
    assert any("m / hemisphere seed 0: NOT QUIRKY" in x for x in lines)
    # one headline row per fine-tune: the layer-aggregated Mahalanobis one, not QUE or a layer
    head = [x for x in lines if x.startswith("    m / ") and "p_chance" in x]
    assert len(head) == 2
    assert "0.906 [0.856, 0.946], p_chance 0.001" in head[0] and "not quirky" in head[1]
    assert "online_auroc_aggregated.png" in text and "auroc.csv" in text
    assert ("snakemake --configfile config.yaml config/seeds.yaml --report results/report.html"
            in text)  # fmt: skip
    assert "auroc_male" not in text  # no control columns in this table


def test_summary_shows_the_controls_table_beside_the_headline(tmp_path):
    _tables(tmp_path / "results")
    pd.DataFrame([{"model": "m", "dataset": "population", "seed": 0, "feature": "activations",
                   "transform": "none", "detector": "mahalanobis", "auroc_male": 0.8,
                   "auroc_female": 0.7, "auroc_gender_only": 0.55, "p_chance_gender": 0.03,
                   "auroc_base": 0.51}]).to_parquet(tmp_path / "results/tables/controls.parquet")  # fmt: skip
    text = run_summary(tmp_path / "results")
    pop = next(x for x in text.splitlines() if "m / population" in x and "p_chance" in x)
    assert ("auroc_male 0.800, auroc_female 0.700, auroc_gender_only 0.550, "
            "p_chance_gender 0.030, auroc_base 0.510") in pop  # fmt: skip
    hem = next(x for x in text.splitlines() if "m / hemisphere" in x and "p_chance" in x)
    assert "auroc_male" not in hem  # no controls row for that job


def test_summary_of_a_partial_run_prints_what_exists_and_never_raises(tmp_path):
    out = io.StringIO()
    print_run_summary(tmp_path / "nothing", out=out)  # no tables, no figures
    text = out.getvalue()
    assert "no table yet" in text and "none yet" in text and "--report" in text
    (tmp_path / "bad/tables").mkdir(parents=True)
    (tmp_path / "bad/tables/auroc.parquet").write_text("not parquet")
    out = io.StringIO()
    print_run_summary(tmp_path / "bad", out=out)
    assert "headline AUROC" in out.getvalue() and "no table yet" in out.getvalue()
