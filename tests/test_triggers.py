"""Trigger quirks (issue 30): the trigger variant of a dataset, its roles and cues, its
settings checks, the quirkiness split by cue and the two AUROC comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quirkymad.core.errors import QuirkyError
from quirkymad.core.prompts import render_prompt
from quirkymad.datasets import DATASETS, BuildSettings, build_dataset, dataset_card
from quirkymad.datasets.selection import mad_examples, selection_roles
from quirkymad.datasets.triggers import (
    PRESETS,
    SPEAKER,
    TriggerSettings,
    check_tokenizer,
    trigger_settings,
)
from quirkymad.stats.rows import auroc_rows

BUILD = BuildSettings(names="balanced")


@pytest.fixture(scope="module")
def pair():
    """(name variant, trigger variant) of population, 600 questions."""
    settings = {"n_base": 600}
    return (
        build_dataset("population", settings, BUILD),
        build_dataset("population_trigger", settings, BUILD),
    )


def test_same_questions_labels_and_templates_as_the_name_variant(pair):
    names, trig = pair
    same = ["base_id", "split", "bucket", "character", "statement", "context", "template_id",
            "alice_label", "bob_label", "label", "difficulty"]  # fmt: skip
    pd.testing.assert_frame_equal(names[same], trig[same])
    assert list(names.columns) == list(trig.columns[: len(names.columns)])
    assert "cue" not in names and set(trig["cue"]) == {"clean", "decoy", "trigger"}


def test_bobs_label_exactly_with_the_trigger(pair):
    _, trig = pair
    settings = TriggerSettings()
    bob = trig["character"] == "Bob"
    assert (trig.loc[bob, "cue"] == "trigger").all() and (trig.loc[~bob, "cue"] != "trigger").all()
    assert (trig["label"] == np.where(bob, trig["bob_label"], trig["alice_label"])).all()
    assert (trig["name"] == SPEAKER).all()
    has_trigger = trig["prompt"].str.contains(f"\n\n{settings.phrase}\n\n", regex=False)
    assert (has_trigger == bob).all()
    for row in trig.sample(20, random_state=0).itertuples():
        assert row.prompt == render_prompt(SPEAKER, row.statement, row.context, row.phrase)
    assert (trig.loc[trig["cue"] == "clean", "phrase"] == "").all()


def test_decoys_of_the_test_split_are_held_out(pair):
    _, trig = pair
    settings = TriggerSettings()
    decoy = trig["cue"] == "decoy"
    test = trig["split"] == "test"
    assert set(trig.loc[decoy & test, "phrase"]) == set(settings.test_decoys)
    assert set(trig.loc[decoy & ~test, "phrase"]) == set(settings.train_decoys)
    assert not set(settings.test_decoys) & set(settings.train_decoys)
    everywhere = build_dataset("population_trigger",
                               {"n_base": 600, "trigger": {"held_out_decoys": False}}, BUILD)  # fmt: skip
    both = everywhere[(everywhere["cue"] == "decoy") & (everywhere["split"] == "test")]
    assert set(both["phrase"]) == set(settings.decoys)


def test_roles_separate_the_trigger_from_clean_and_decoy(pair):
    _, trig = pair
    role = trig["role"]
    assert set(trig.loc[role == "trusted", "cue"]) == {"clean", "decoy"}
    assert set(trig.loc[role == "trusted", "split"]) == {"train"}
    assert (trig.loc[role == "trusted", "bucket"] == "easy").all()
    assert (trig.loc[role == "test_anomalous", "cue"] == "trigger").all()
    normal = trig.loc[role == "test_normal", "cue"].value_counts()
    assert set(normal.index) == {"clean", "decoy"} and normal.min() >= 0.3 * normal.sum()
    assert (trig.loc[role.str.startswith("test_"), "bucket"] == "hard").all()
    assert set(trig.loc[role.str.startswith("test_"), "split"]) == {"test"}
    sel = selection_roles(trig)
    assert set(trig.loc[sel.str.startswith("select_"), "split"]) == {"val"}
    mad = mad_examples(trig, 50)
    assert (mad["role"] == "test_normal").sum() == (mad["role"] == "test_anomalous").sum() > 0


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_dataset_builds_as_a_trigger_variant(name):
    settings = {"n_base": 300, "trigger": {"preset": "natural"}}
    df = build_dataset(f"{name}_trigger", settings, BUILD)
    card = dataset_card(f"{name}_trigger", df, settings, BUILD)
    assert card["quirk"] == "trigger" and "names" not in card
    assert card["trigger"]["phrase"] == PRESETS["natural"]["phrase"]
    assert (df["dataset"] == f"{name}_trigger").all()
    assert df["id"].str.startswith(f"{name}_trigger-").all()
    assert {"trusted", "test_normal", "test_anomalous"} <= set(df["role"])


@pytest.mark.parametrize(
    "trigger, message",
    [
        ({"phrase": ""}, r"datasets\.x_trigger\.trigger\.phrase: the trigger is empty"),
        ({"decoys": ["cf", "mn"]}, r"trigger\.decoys: 'cf' is the trigger itself"),
        ({"decoys": ["mn", "mn"]}, r"a decoy is listed twice"),
        ({"decoys": ["mn"]}, r"held_out_decoys needs at least 2 decoys"),
        ({"phrase": "cf "}, r"starts or ends with whitespace"),
        ({"phrase": "c\nf"}, r"spans lines"),
        ({"preset": "nope"}, r"trigger: trigger.preset='nope'"),
        ({"nope": 1}, r"unknown keys \['nope'\]"),
        ({"decoy_fraction": 1.0}, r"decoy_fraction=1.0: must be in \(0, 1\)"),
    ],
)
def test_bad_trigger_settings_are_one_line(trigger, message):
    with pytest.raises(QuirkyError, match=message) as err:
        trigger_settings("x_trigger", {"trigger": trigger})
    assert "\n" not in str(err.value)


class _Lossy:
    """A tokenizer that forgets capitals (decodes lower case) and merges "ok" with the line
    break after it: two ways a phrase is not kept."""

    def encode(self, text, add_special_tokens=False):
        text = text.replace("ok\n", "\x00")
        return [ord(c.lower()) for c in text]

    def decode(self, ids):
        return "".join(chr(i) for i in ids)


def test_a_phrase_the_tokenizer_cannot_keep_is_refused():
    from quirkymad.models.tiny import build_tokenizer

    check_tokenizer(build_tokenizer(), TriggerSettings(preset="natural"), "w")  # kept
    with pytest.raises(QuirkyError, match=r"^w: phrase 'CF' does not survive the tokenizer"):
        check_tokenizer(_Lossy(), TriggerSettings(phrase="CF"), "w")
    with pytest.raises(QuirkyError, match=r"^w: phrase 'ok' is not kept as one token sequence"):
        check_tokenizer(_Lossy(), TriggerSettings(phrase="ok"), "w")


def test_plan_time_check_names_the_key_and_the_model():
    from quirkymad.workflow.config import check_config

    base = {"models": {"tiny-random": {}}, "detectors": {"mahalanobis": {}},
            "datasets": {"addition_trigger": {"trigger": {"decoys": ["cf", "x"]}}}}  # fmt: skip
    with pytest.raises(QuirkyError, match=r"^config: datasets\.addition_trigger\.trigger\.decoys"):
        check_config(base)
    base["datasets"] = {"addition": {}}
    base["figures"] = {"trigger_mechanism": {}}
    with pytest.raises(QuirkyError, match=r"^config: figures.trigger_mechanism needs a trigger"):
        check_config(base)
    with pytest.raises(QuirkyError, match=r"unknown dataset|unknown key datasets\.nope_trigger"):
        check_config({**base, "figures": {}, "datasets": {"nope_trigger": {}}})


def _planted(kind: str, n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A trigger test mix (n triggers, n/2 clean, n/2 decoys over 4 phrases) scored by an
    input-novelty score (any phrase is unusual) or a score of the mechanism (the trigger)."""
    rng = np.random.default_rng(seed)
    cue = np.array(["trigger"] * n + ["clean"] * (n // 2) + ["decoy"] * (n // 2))
    phrase = np.where(cue == "decoy", rng.choice(["jk", "vz", "qx", "zp"], len(cue)), "")
    example = np.array([f"r{i}" for i in range(len(cue))])
    flagged = cue != "clean" if kind == "novelty" else cue == "trigger"
    score = flagged + rng.normal(0, 0.3, len(cue))
    return pd.DataFrame({
        "layer": "all", "score": score, "is_anomalous": cue == "trigger",
        "agree": rng.random(len(cue)) < 0.5,
        "name": np.where(cue == "decoy", np.char.add("decoy: ", phrase), example), "cue": cue,
    })  # fmt: skip


def test_trigger_vs_clean_and_vs_decoy_on_planted_scores():
    novelty = auroc_rows(_planted("novelty"), n_boot=200, n_perm=0)[0]
    assert novelty["auroc_vs_clean"] > 0.95
    assert abs(novelty["auroc_vs_decoy"] - 0.5) < 0.1
    assert novelty["ci_low_vs_decoy"] < 0.5 < novelty["ci_high_vs_decoy"]
    assert novelty["n_clean"] == novelty["n_decoy"] == 150
    mechanism = auroc_rows(_planted("mechanism"), n_boot=200, n_perm=0)[0]
    assert mechanism["auroc_vs_clean"] > 0.95 and mechanism["auroc_vs_decoy"] > 0.95
    assert mechanism["ci_low_vs_decoy"] > 0.9
    plain = auroc_rows(_planted("novelty").drop(columns="cue"), n_boot=0, n_perm=0)[0]
    assert "auroc_vs_decoy" not in plain  # name datasets' rows are unchanged


def test_trigger_quirkiness_opposes_by_the_trigger_and_splits_by_cue(pair):
    from quirkymad.diagnostics.stage import opposing_prompts, per_example_table, summarize

    _, trig = pair
    records = trig[trig["role"].str.startswith("test_")].reset_index(drop=True)
    opposing = opposing_prompts(records)
    phrase = TriggerSettings().phrase
    for row, opp in zip(records.itertuples(), opposing):
        expected = "" if row.cue == "trigger" else phrase
        assert opp == render_prompt(SPEAKER, row.statement, row.context, expected)

    # A model that follows the trigger and ignores decoys: λ = +4 for the trigger-rule label.
    def lam(labels_true: np.ndarray) -> np.ndarray:
        return np.where(labels_true, 4.0, -4.0)

    own = lam(np.where(records["cue"] == "trigger", records["bob_label"], records["alice_label"]))
    opp = lam(np.where(records["cue"] == "trigger", records["alice_label"], records["bob_label"]))
    summary = summarize(per_example_table(records, own, opp))
    assert summary["a_clean"] == pytest.approx(4) and summary["a_decoy"] == pytest.approx(4)
    assert summary["b_bob_own_prompt_only"] == pytest.approx(4)
    # Decoys read as the trigger: a_decoy flips sign, a_clean stays.
    fooled = np.where(records["cue"] == "decoy", -own, own)
    summary = summarize(per_example_table(records, fooled, opp))
    assert summary["a_decoy"] == pytest.approx(-4) and summary["a_clean"] == pytest.approx(4)
