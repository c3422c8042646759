"""The gender controls (issue 28, item 2): the gender-stratified null, within-gender AUROCs, the
name-gender-only AUROC, and the controls table of scoring jobs."""

import numpy as np
import pandas as pd
import pytest

from quirkymad.core.prompts import NAME_GENDER
from quirkymad.stats.auroc import relabelled_auroc
from quirkymad.stats.controls import gender_controls, record_genders, write_controls
from quirkymad.stats.metrics import auroc
from quirkymad.stats.permutation import name_relabellings, p_chance
from quirkymad.stats.settings import ScoringSettings

MALE = [n for n, g in NAME_GENDER.items() if g == "male"]
FEMALE = [n for n, g in NAME_GENDER.items() if g == "female"]
PER_NAME = 15


def _mix(rng, bob_male=10, alice_male=2, n_names=12):
    """A test mix of 12 + 12 paper names, `bob_male` of Bob's and `alice_male` of Alice's male,
    PER_NAME records each: (is_anomalous, name, is_male) `[n]`."""
    bob = MALE[:bob_male] + FEMALE[: n_names - bob_male]
    alice = MALE[bob_male : bob_male + alice_male]
    alice += FEMALE[n_names - bob_male : n_names - bob_male + n_names - alice_male]
    names = np.repeat(np.array(alice + bob), PER_NAME)
    y = np.repeat(np.r_[np.zeros(len(alice)), np.ones(len(bob))], PER_NAME).astype(bool)
    return y, names, record_genders(names) == "male"


def test_a_gender_only_score_gets_p_1_under_the_stratified_null_and_p_0_under_the_plain_one():
    rng = np.random.default_rng(0)
    y, names, male = _mix(rng)
    score = male.astype(float)  # reads only the name's gender
    null_plain = relabelled_auroc(score, name_relabellings(y, names, 1000, rng))
    row = gender_controls(score, y, names, n_boot=200, n_perm=1000, seed=0)
    # Re-splitting names within gender keeps the count of male records per side, so every
    # relabelled AUROC of this score equals the observed one: p = 1 exactly.
    assert row["p_chance_gender"] == 1.0
    assert p_chance(auroc(y, score), null_plain) < 0.01
    assert row["auroc_gender_only"] == pytest.approx(0.5 + (10 / 12 - 2 / 12) / 2)
    # Within a gender this score is constant: chance.
    assert row["auroc_male"] == row["auroc_female"] == 0.5


def test_a_quirk_score_survives_the_stratified_null_and_is_high_within_each_gender():
    rng = np.random.default_rng(1)
    y, names, male = _mix(rng)
    score = 1.5 * y + rng.standard_normal(len(y))
    row = gender_controls(score, y, names, n_boot=200, n_perm=1000, seed=0)
    assert row["p_chance_gender"] < 0.01
    assert row["auroc_male"] > 0.8 and row["auroc_female"] > 0.8
    for g in ("male", "female"):
        assert row[f"ci_low_name_{g}"] <= row[f"auroc_{g}"] <= row[f"ci_high_name_{g}"]
    assert (row["n_names_male_anomalous"], row["n_names_female_anomalous"]) == (10, 2)
    assert (row["n_names_male_normal"], row["n_names_female_normal"]) == (2, 10)


def test_a_noisy_gender_score_is_at_chance_within_gender_and_under_the_stratified_null():
    rng = np.random.default_rng(2)
    y, names, male = _mix(rng)
    score = 2.0 * male + rng.standard_normal(len(y))
    row = gender_controls(score, y, names, n_boot=300, n_perm=1000, seed=0)
    assert auroc(y, score) > 0.7
    for g in ("male", "female"):
        assert row[f"ci_low_name_{g}"] < 0.5 < row[f"ci_high_name_{g}"]
    assert row["p_chance_gender"] > 0.05


def test_stratified_relabellings_keep_each_sides_stratum_mix_and_one_stratum_is_the_plain_null():
    y, names, male = _mix(np.random.default_rng(3))
    labels = name_relabellings(y, names, 50, np.random.default_rng(4), strata=male)
    for row in labels:
        assert len(np.unique(names[row & male])) == 10 and len(np.unique(names[row & ~male])) == 2
    plain = name_relabellings(y, names, 50, np.random.default_rng(4))
    one = name_relabellings(y, names, 50, np.random.default_rng(4), strata=np.zeros(len(y)))
    assert (plain == one).all()
    with pytest.raises(ValueError, match="strata"):
        name_relabellings(y, names, 5, np.random.default_rng(0), strata=np.arange(len(y)) % 2)


def test_unknown_names_are_excluded_from_the_gender_subsets():
    assert list(record_genders(["Bob", "Quinn", "Zorblax"])) == ["male", "ambiguous", "unknown"]


def _job(tmp_path, tag, score, y, names, seed=0):
    d = tmp_path / tag
    d.mkdir()
    n = len(y)
    head = {"model": "m", "dataset": "d", "seed": seed, "setting": "online",
            "feature": "activations", "transform": "none", "detector": "mahalanobis"}  # fmt: skip
    pd.DataFrame({"layer": ["1"] * n + ["all"] * n, "score": np.r_[score, score],
                  "is_anomalous": np.r_[y, y], "name": np.r_[names, names],
                  "agree": True}).to_parquet(d / "scores.parquet")  # fmt: skip
    pd.DataFrame([{**head, "layer": "1", "auroc": 0.1}, {**head, "layer": "all",
                  "auroc": auroc(y, score), "ci_low_name": 0.4, "ci_high_name": 0.9,
                  "p_chance": 0.02}]).to_parquet(d / "auroc.parquet")  # fmt: skip
    return d


def test_controls_table_reads_the_aggregate_rows_and_the_base_control(tmp_path):
    rng = np.random.default_rng(5)
    y, names, male = _mix(rng)
    main = _job(tmp_path, "main", 1.0 * y + rng.standard_normal(len(y)), y, names)
    base = _job(tmp_path, "base", rng.standard_normal(len(y)), y, names)
    df = write_controls([{"scores": str(main), "base": str(base)}, {"scores": str(base)}],
                        tmp_path / "c.parquet", tmp_path / "c.csv",
                        ScoringSettings(n_bootstrap=50, n_permutations=50))  # fmt: skip
    assert len(df) == 2 and (tmp_path / "c.csv").exists()
    first = df.iloc[0]
    assert first["auroc"] == pytest.approx(auroc(y, pd.read_parquet(main / "scores.parquet")
                                                 ["score"].to_numpy()[: len(y)]))  # fmt: skip
    assert first["auroc_base"] == pytest.approx(pd.read_parquet(base / "auroc.parquet")
                                                ["auroc"].iloc[1])  # fmt: skip
    assert first["p_chance"] == 0.02 and first["detector"] == "mahalanobis"
    assert np.isnan(df.iloc[1]["auroc_base"])
