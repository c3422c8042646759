import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quirkymad.datasets import (
    COLUMNS,
    DATASETS,
    BuildSettings,
    build_dataset,
    get_dataset,
    write_dataset,
)
from quirkymad.datasets.arithmetic import MODULUS, sloppy
from quirkymad.errors import QuirkyError
from quirkymad.prompts import N_TRUSTED_NAMES

ARITH = {
    "addition": lambda a, b: a + b,
    "subtraction": lambda a, b: a - b,
    "multiplication": lambda a, b: a * b,
    "modularaddition": lambda a, b: (a + b) % MODULUS,
    "squaring": lambda a, b: a * a,
}


@given(st.integers(-(10**9), 10**9))
def test_sloppy_adds_one_to_the_leading_digit(r):
    d = len(str(abs(r)))
    assert sloppy(r) - r == 10 ** (d - 1)
    if r > 0 and str(r)[0] != "9":
        assert str(sloppy(r))[0] == str(int(str(r)[0]) + 1)


def test_sloppy_carries():
    assert sloppy(95) == 105 and sloppy(0) == 1 and sloppy(-42) == -32


@pytest.mark.parametrize("name", sorted(ARITH))
def test_arithmetic_labels_follow_the_rules(name):
    base = get_dataset(name, {"n_base": 800}).base_questions(np.random.default_rng(0))
    true = [ARITH[name](a, b) for a, b in zip(base["op1"], base["op2"])]
    bob = [sloppy(t) % MODULUS if name == "modularaddition" else sloppy(t) for t in true]
    assert (base["alice_label"] == (base["result"] == true)).all()
    assert (base["bob_label"] == (base["result"] == bob)).all()
    assert len(set(zip(base["op1"], base["op2"]))) == len(base)  # unique operand pairs

    df = build_dataset(name, {"n_base": 800})
    assert list(df.columns) == COLUMNS
    for character, col in (("Alice", "alice_label"), ("Bob", "bob_label")):
        sub = df[df["character"] == character]
        assert (sub["label"] == sub[col]).all()
        assert sub["label"].mean() == pytest.approx(0.25, abs=0.01)
    assert df["agree"].mean() == pytest.approx(0.5, abs=0.01)
    assert (df["agree"] == (df["alice_label"] == df["bob_label"])).all()


def test_splits_buckets_and_roles():
    s = BuildSettings()
    df = build_dataset("addition", {"n_base": 4000}, s)
    by_split = df.groupby("split")["base_id"].apply(set)
    assert not (by_split["train"] & by_split["val"]) and not (by_split["train"] & by_split["test"])
    assert not (by_split["val"] & by_split["test"])
    assert df.groupby("base_id")["split"].nunique().max() == 1
    assert (df.loc[df["bucket"] == "easy", "quantile"] < s.easy_quantile).all()
    assert (df.loc[df["bucket"] == "hard", "quantile"] >= s.hard_quantile).all()
    easy_max = df.loc[df["bucket"] == "easy", "difficulty"].max()
    hard_min = df.loc[df["bucket"] == "hard", "difficulty"].min()
    assert easy_max <= hard_min
    trusted = df[df["role"] == "trusted"]
    assert (trusted["character"] == "Alice").all() and (trusted["split"] == "train").all()
    assert (trusted["bucket"] == "easy").all() and (trusted["name_index"] < N_TRUSTED_NAMES).all()
    test = df[df["role"].isin(["test_normal", "test_anomalous"])]
    assert (test["split"] == "test").all() and (test["bucket"] == "hard").all()
    assert (test["name_index"] >= N_TRUSTED_NAMES).all()
    assert set(test.loc[test["role"] == "test_anomalous", "character"]) == {"Bob"}
    assert all(p.endswith("?") for p in df["prompt"])
    assert all(f"Name: {n}\n" in p for n, p in zip(df["name"], df["prompt"]))


def test_build_is_byte_identical(tmp_path):
    paths = []
    for i in range(2):
        d = tmp_path / str(i)
        write_dataset(
            "addition", {"n_base": 500}, BuildSettings(seed=3), d / "a.parquet", d / "c.json"
        )
        paths.append(d)
    for f in ("a.parquet", "c.json"):
        h = [hashlib.sha256((p / f).read_bytes()).hexdigest() for p in paths]
        assert h[0] == h[1]
    other = build_dataset("addition", {"n_base": 500}, BuildSettings(seed=4))
    assert not other.equals(pd.read_parquet(paths[0] / "a.parquet"))


def test_unknown_dataset_names_itself():
    with pytest.raises(QuirkyError, match="unknown dataset 'nope'"):
        build_dataset("nope")


def test_registry_has_the_arithmetic_datasets():
    assert set(ARITH) <= set(DATASETS)
    assert np.all([len(DATASETS[n].templates) >= 5 for n in ARITH])
