"""The [B1] reference file and the side-by-side table (quirkymad/analysis/reference.py)."""

import numpy as np
import pandas as pd
import pytest

from quirkymad.analysis.reference import compare, read_reference, write_reference_comparison

from smk import REPO

REFERENCE = REPO / "config" / "reference_b1.csv"


def test_reference_file_is_consistent_with_itself():
    """B1's overall Mahalanobis and QUE means equal the mean of its per-dataset numbers
    (to the 3 published decimals): the file was transcribed without a slip."""
    ref = read_reference(REFERENCE)
    assert ref["reference_auroc"].between(0.5, 1).all()
    for score in ("mahalanobis", "que"):
        rows = ref[(ref["score"] == score) & (ref["features"] == "activations")]
        rows = rows[rows["subset"] == "all"]
        per_dataset = rows[rows["dataset"] != "mean"]
        assert len(per_dataset) == 9
        mean = rows.loc[rows["dataset"] == "mean", "reference_auroc"].item()
        assert per_dataset["reference_auroc"].mean() == pytest.approx(mean, abs=5e-4)


def _auroc_table():
    """Two models; activations Mahalanobis on three datasets, QUE on addition only."""
    rows = []
    for model, bump in (("m1", 0.0), ("m2", 0.05)):
        for i, dataset in enumerate(["addition", "squaring", "sciq"]):
            for layer, value in (("1", 0.6), ("all", 0.7 + 0.1 * i)):
                rows.append(dict(model=model, dataset=dataset, transform="none",
                                 feature="activations", detector="mahalanobis", setting="online",
                                 layer=layer, auroc=value + bump, ci_low_name=value - 0.1,
                                 ci_high_name=value + 0.1, auroc_agree=0.5, auroc_disagree=0.4))  # fmt: skip
    rows.append(dict(model="m1", dataset="addition", transform="none", feature="activations",
                     detector="que", setting="offline", layer="all", auroc=0.99, ci_low_name=0.98,
                     ci_high_name=1.0, auroc_agree=0.97, auroc_disagree=0.96))  # fmt: skip
    # A concat job's one row, and a plain probe-shift QUE job's aggregate (a table written
    # before the `combination` column: its `all` row reads as `mean`).
    for combination, value in (("concat", 0.88), (None, 0.55)):
        rows.append(dict(model="m1", dataset="addition", transform="none", feature="probe_shift",
                         detector="que", setting="offline", layer="all", auroc=value,
                         ci_low_name=value - 0.1, ci_high_name=value + 0.1, auroc_agree=0.5,
                         auroc_disagree=0.5, combination=combination))  # fmt: skip
    df = pd.DataFrame(rows)
    df.loc[df["combination"].isna(), "combination"] = np.where(
        df.loc[df["combination"].isna(), "layer"] == "all", "mean", "none"
    )
    return df


def test_comparison_puts_ours_beside_b1():
    table = compare(_auroc_table(), read_reference(REFERENCE))
    maha = table[(table["b1_name"] == "activations-Mahalanobis") & (table["subset"] == "all")]
    # Means over C10's two dataset sets: b1 has addition + sciq, cupbearer addition + squaring.
    b1 = maha[(maha["dataset"] == "mean") & (maha["dataset_set"] == "b1")].set_index("model")
    assert b1.loc["m1", "our_auroc"] == pytest.approx((0.7 + 0.9) / 2)
    assert b1.loc["m2", "our_auroc"] == pytest.approx((0.7 + 0.9) / 2 + 0.05)
    assert (b1["our_n_datasets"] == 2).all() and b1["our_ci_low"].isna().all()
    assert b1.loc["m1", "difference"] == pytest.approx((0.7 + 0.9) / 2 - 0.871)
    cb = maha[(maha["dataset"] == "mean") & (maha["dataset_set"] == "cupbearer")]
    assert cb.set_index("model").loc["m1", "our_auroc"] == pytest.approx((0.7 + 0.8) / 2)
    # Per dataset, with the AUROC table's interval; datasets the run lacks: not run.
    add = maha[(maha["dataset"] == "addition") & (maha["model"] == "m1")].iloc[0]
    assert (add["our_auroc"], add["our_ci_low"], add["our_ci_high"]) == pytest.approx(
        (0.7, 0.6, 0.8)
    )
    assert add["reference_auroc"] == 1.0 and add["status"] == "ok"
    nli = maha[maha["dataset"] == "nli"]
    assert list(nli["status"]) == ["not run"] and np.isnan(nli["our_auroc"].item())
    # Agree subset from its own column; QUE only where the run has it.
    agree = table[(table["b1_name"] == "activations-Mahalanobis") & (table["subset"] == "agree")]
    assert (agree.loc[agree["status"] == "ok", "our_auroc"] == 0.5).all()
    que = table[(table["b1_name"] == "activations-QUE") & (table["dataset"] == "addition")]
    assert list(que["model"]) == ["m1"] and que["our_auroc"].item() == 0.99
    # Scores this run lacks.
    lof = table[table["b1_name"] == "attribution-LOF-mean"]
    assert set(lof["status"]) == {"not run"} and set(lof["dataset_set"]) == {"b1", "cupbearer"}
    # A concat row is matched on the combination column, not on the plain job's mean.
    concat = table[table["b1_name"] == "probe-QUE-concat-mean"].set_index("dataset_set")
    assert concat.loc["b1", "our_auroc"] == pytest.approx(0.88)
    assert concat.loc["b1", "status"] == "ok" and concat.loc["b1", "our_n_datasets"] == 1
    unknown = read_reference(REFERENCE).iloc[:1].assign(combination="stack")
    assert set(compare(_auroc_table(), unknown)["status"]) == {"not implemented"}


def test_every_reference_row_appears(tmp_path):
    ref = read_reference(REFERENCE)
    auroc = tmp_path / "auroc.parquet"
    _auroc_table().to_parquet(auroc)
    out = write_reference_comparison(auroc, REFERENCE, tmp_path / "cmp.csv")
    back = pd.read_csv(tmp_path / "cmp.csv")
    assert len(back) == len(out)
    n_mean = (ref["dataset"] == "mean").sum()
    # each mean row once per C10 set (per model where run); each per-dataset row once+
    keys = set(zip(back["b1_name"], back["dataset"], back["subset"]))
    assert keys == set(zip(ref["b1_name"], ref["dataset"], ref["subset"]))
    assert (back["dataset"] == "mean").sum() >= 2 * n_mean


def test_bad_reference_file_names_the_problem(tmp_path):
    bad = tmp_path / "ref.csv"
    bad.write_text("b1_name,features\nx,activations\n")
    with pytest.raises(ValueError, match="missing column"):
        read_reference(bad)
