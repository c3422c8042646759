import numpy as np
import pandas as pd
import pytest

from quirkymad.analysis.summary import by_dataset, overall


def _table():
    rows = []
    for dataset, base in (("addition", 0.9), ("hemisphere", 0.6), ("capitals", 0.1)):
        for layer, bump in (("1", 0.0), ("2", 0.05), ("all", 0.02)):
            a = base + bump
            rows.append({"model": "m", "setting": "online", "feature": "activations",
                         "transform": "none", "detector": "mahalanobis", "dataset": dataset,
                         "layer": layer, "auroc": a, "auroc_agree": a - 0.1,
                         "auroc_disagree": a + 0.01})  # fmt: skip
    return pd.DataFrame(rows)


def test_by_dataset_picks_the_best_layer_over_datasets():
    a = by_dataset(_table())
    assert set(a["best_layer_optimistic"]) == {"2"}
    add = a[a["dataset"] == "addition"].iloc[0]
    assert add["mean_over_layers_all"] == pytest.approx(0.925)
    assert add["aggregated_all"] == pytest.approx(0.92)
    assert add["best_layer_optimistic_all"] == pytest.approx(0.95)
    assert add["best_layer_optimistic_agree"] == pytest.approx(0.85)
    assert add["best_layer_selected"] is None and np.isnan(add["best_layer_selected_all"])


def test_selected_best_layer_is_chosen_on_the_selection_split_only():
    t = _table()
    # Layer 1 wins on the selection records, layer 2 on the test mix.
    t["auroc_select"] = np.where(t["layer"] == "1", 0.8, 0.6)
    a = by_dataset(t)
    assert set(a["best_layer_optimistic"]) == {"2"} and set(a["best_layer_selected"]) == {"1"}
    add = a[a["dataset"] == "addition"].iloc[0]
    assert add["best_layer_selected_all"] == pytest.approx(0.9)  # layer 1's *test* AUROC
    assert add["best_layer_selected_all"] <= add["best_layer_optimistic_all"]


def test_overall_excludes_capitals_and_applies_dataset_sets():
    b = overall(by_dataset(_table())).iloc[0]
    assert b["n_datasets_available"] == 2
    assert b["aggregated_all_available"] == pytest.approx(np.mean([0.92, 0.62]))
    assert b["n_datasets_b1"] == 2 and b["n_datasets_cupbearer"] == 2


def test_rows_are_named_by_features_score_and_combination():
    """A concat job's one row is its own summary row (no per-layer values); the plain job's
    single-layer rows belong to its `mean` row (a table without `combination` reads so too)."""
    t = _table()
    concat = t[t["layer"] == "all"].assign(combination="concat", auroc=0.5)
    a = by_dataset(pd.concat([t, concat], ignore_index=True))
    assert sorted(set(a["combination"])) == ["concat", "mean"]
    add = a[a["dataset"] == "addition"].set_index("combination")
    assert add.loc["mean", "aggregated_all"] == pytest.approx(0.92)
    assert add.loc["mean", "mean_over_layers_all"] == pytest.approx(0.925)
    assert add.loc["concat", "aggregated_all"] == 0.5
    assert np.isnan(add.loc["concat", "mean_over_layers_all"])
    assert add.loc["concat", "best_layer_optimistic"] == "all"
    b = overall(a).set_index("combination")
    assert b.loc["concat", "aggregated_all_available"] == 0.5
