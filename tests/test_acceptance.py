"""The `quirky` flag (issue 28): joined into the AUROC tables by fine-tune, drawn on the figures."""

import json

import pandas as pd
import pytest

from quirkymad.finetune.acceptance import collect_flagged, quirky_flags, with_quirky


def _adapter(path, step, a, b):
    path.mkdir(parents=True)
    summary = {"best_step": step, "best_a_alice": a, "best_b_bob": b}
    (path / "quirkymad.json").write_text(json.dumps(summary))
    return str(path)


@pytest.fixture
def adapters(tmp_path):
    return [
        {"model": "m", "dataset": "population", "seed": 0,
         "adapter": _adapter(tmp_path / "p0", 300, 1.8, 4.5)},
        {"model": "m", "dataset": "population", "seed": 1,
         "adapter": _adapter(tmp_path / "p1", 0, -0.2, 0.2)},  # the untrained adapter kept
        {"model": "m", "dataset": "hemisphere", "seed": 0,
         "adapter": _adapter(tmp_path / "h0", 200, 1.6, 0.9)},
    ]  # fmt: skip


def _auroc(datasets_seeds):
    return pd.DataFrame([{"model": "m", "dataset": d, "seed": s, "feature": "activations",
                          "transform": "none", "detector": "mahalanobis", "setting": "online",
                          "layer": layer, "auroc": 0.7, "ci_low_name": 0.6, "ci_high_name": 0.8,
                          "p_chance": 0.01}
                         for d, s in datasets_seeds for layer in ("1", "2", "all")])  # fmt: skip


def test_flags_follow_the_rule_and_join_by_model_dataset_seed(adapters, tmp_path):
    flags = quirky_flags(adapters)
    assert list(flags["quirky"]) == [True, False, False]  # b = 0.9 < 1; step 0 never quirky
    auroc = _auroc([("population", 0), ("population", 1), ("hemisphere", 0), ("other", 0)])
    out = with_quirky(auroc, flags)
    got = out.groupby(["dataset", "seed"])["quirky"].first()
    assert got[("population", 0)] and not got[("population", 1)] and not got[("hemisphere", 0)]
    assert pd.isna(out.loc[out["dataset"] == "other", "quirky"]).all()  # no such fine-tune
    assert len(out) == len(auroc) and str(out["quirky"].dtype) == "boolean"
    # joining again replaces the column instead of adding a second one
    assert list(with_quirky(out, flags).columns) == list(out.columns)


def test_collection_writes_the_flag_to_parquet_and_csv(adapters, tmp_path):
    part = tmp_path / "part.parquet"
    _auroc([("population", 0), ("hemisphere", 0)]).to_parquet(part)
    collect_flagged([part], tmp_path / "a.parquet", tmp_path / "a.csv", adapters)
    back = pd.read_parquet(tmp_path / "a.parquet")
    assert back.groupby("dataset")["quirky"].first().to_dict() == {
        "hemisphere": False,
        "population": True,
    }
    assert "quirky" in pd.read_csv(tmp_path / "a.csv").columns
    collect_flagged([part], tmp_path / "b.parquet")  # no adapters: the table as it was
    assert "quirky" not in pd.read_parquet(tmp_path / "b.parquet")


def test_auroc_figures_label_a_non_quirky_dataset(adapters, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from quirkymad.figures.auroc import not_quirky, plot_aggregated, plot_per_layer

    auroc = with_quirky(_auroc([("population", 0), ("hemisphere", 0)]), quirky_flags(adapters))
    assert not_quirky(auroc) == {("m", "hemisphere")}
    assert not_quirky(auroc.drop(columns="quirky")) == set()
    import matplotlib.pyplot as plt

    seen = []
    orig = plt.Figure.legend

    def spy(self, handles, labels, *a, **k):
        seen.append(list(labels))
        return orig(self, handles, labels, *a, **k)

    plt.Figure.legend = spy
    try:
        plot_aggregated(auroc, "online", tmp_path / "a.png", tmp_path / "a.pdf")
        plot_per_layer(auroc, "online", tmp_path / "l.png", tmp_path / "l.pdf")
    finally:
        plt.Figure.legend = orig
    assert seen and all(sorted(lab) == ["hemisphere (not quirky)", "population"] for lab in seen)
