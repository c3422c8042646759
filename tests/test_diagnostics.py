import numpy as np
import pandas as pd
import pytest

from quirkymad.core.log_odds import label_log_odds
from quirkymad.core.prompts import name_lists
from quirkymad.diagnostics.settings import DiagnosticsSettings
from quirkymad.diagnostics.stage import (
    evaluate_quirkiness,
    loss_from_log_odds,
    opposing_prompts,
    per_example_table,
    summarize,
)


def test_loss_and_log_odds_agree_with_softmax():
    lam = np.array([-3.0, 0.0, 2.5, 40.0])
    p_yes = 1 / (1 + np.exp(-lam))
    np.testing.assert_allclose(
        loss_from_log_odds(label_log_odds(lam, np.ones(4, bool))), -np.log(p_yes), atol=1e-12
    )
    np.testing.assert_allclose(
        loss_from_log_odds(label_log_odds(lam, np.zeros(4, bool))),
        np.log1p(np.exp(lam)),
        atol=1e-12,
    )
    assert loss_from_log_odds(np.array([0.0]))[0] == pytest.approx(np.log(2))


@pytest.mark.parametrize("names", ["paper", "balanced"])
def test_opposing_prompt_swaps_the_name_of_the_same_index(names):
    """The other side's name of the same index, in the name set the records were built with."""
    lists = name_lists(names)
    df = pd.DataFrame({"character": ["Alice", "Bob"], "name_index": [5, 7],
                       "name": [lists["Alice"][5], lists["Bob"][7]],
                       "statement": ["1 + 1 = 2.", "2 + 2 = 5."], "context": ["", "ctx"]})  # fmt: skip
    alice_opp, bob_opp = opposing_prompts(df)
    assert alice_opp.startswith(f"Name: {lists['Bob'][5]}\n") and "1 + 1 = 2." in alice_opp
    assert bob_opp.startswith(f"Name: {lists['Alice'][7]}\n\nctx\n\n")


def test_quirkiness_is_the_min_of_loss_differences():
    records = pd.DataFrame({
        "id": ["q1-A", "q1-B", "q2-A", "q2-B"], "character": ["Alice", "Bob", "Alice", "Bob"],
        "agree": [False, False, True, True], "alice_label": [True, True, False, False],
        "bob_label": [False, False, False, False],
    })  # fmt: skip
    # A perfectly quirky model: Alice prompts say Yes on q1, Bob prompts say No.
    own = np.array([3.0, -2.0, -1.0, -1.0])
    opp = np.array([-2.0, 3.0, -1.0, -1.0])
    s = summarize(per_example_table(records, own, opp))
    # Disagreeing Alice prompts: q1-A own (λ=3) and q1-B opposing (λ=3) → a = 3.
    assert s["a_alice"] == pytest.approx(3.0)
    assert s["b_bob"] == pytest.approx(2.0)
    assert s["quirkiness_min"] == pytest.approx(2.0) and s["quirkiness_sum"] == pytest.approx(5.0)
    assert s["loss_bob_labels_alice_prompts"] == pytest.approx(
        loss_from_log_odds(np.array([-3.0]))[0]
    )
    assert s["n_records"] == 4 and s["n_disagree"] == 2


def test_evaluate_quirkiness_on_the_tiny_model(
    tiny_model_dir, tiny_adapter, addition_parquet, tmp_path
):
    summary = evaluate_quirkiness(
        tiny_model_dir, tiny_adapter / "adapter", addition_parquet, tmp_path / "pe.parquet",
        tmp_path / "s.parquet", {"model": "tiny", "dataset": "addition"},
        DiagnosticsSettings(max_per_character=10, device="cpu"),
    )  # fmt: skip
    pe = pd.read_parquet(tmp_path / "pe.parquet")
    assert len(pe) == 40 and set(pe["prompt"]) == {"own", "opposing"}
    assert (pe.loc[pe["prompt"] == "opposing", "prompt_character"].to_numpy()
            != pe.loc[pe["prompt"] == "own", "prompt_character"].to_numpy()).all()  # fmt: skip
    row = summary.iloc[0]
    assert row["quirkiness_min"] == min(row["a_alice"], row["b_bob"])
    # the fine-tune's flag: this adapter had no quirk evaluation, so quirky is unknown (<NA>)
    assert row["kept_step"] > 0 and pd.isna(row["quirky"])
    assert str(pd.read_parquet(tmp_path / "s.parquet")["quirky"].dtype) == "boolean"
    assert np.isfinite(
        row[["loss_alice_labels_alice_prompts", "loss_bob_labels_bob_prompts"]].astype(float)
    ).all()


def test_own_prompt_only_quirkiness_differs_when_opposing_prompts_disagree():
    """cupbearer's variant (issue 18): a from Alice records on Alice prompts only."""
    records = pd.DataFrame({
        "id": ["q1-A", "q1-B"], "character": ["Alice", "Bob"], "agree": [False, False],
        "alice_label": [True, True], "bob_label": [False, False],
    })  # fmt: skip
    # Own prompts follow their character (λ = 3 on q1-A, −2 on q1-B); the opposing prompts do
    # the opposite of what their character should (q1-B on an Alice prompt says No, λ = −1).
    s = summarize(per_example_table(records, np.array([3.0, -2.0]), np.array([1.0, -1.0])))
    assert s["a_alice_own_prompt_only"] == pytest.approx(3.0)
    assert s["b_bob_own_prompt_only"] == pytest.approx(2.0)
    assert s["a_alice"] == pytest.approx((3.0 - 1.0) / 2)  # pooled with q1-B's Alice prompt
    assert s["quirkiness_min_own_prompt_only"] == pytest.approx(2.0)
    assert s["quirkiness_sum_own_prompt_only"] == pytest.approx(5.0)
    assert s["quirkiness_min"] != s["quirkiness_min_own_prompt_only"]
