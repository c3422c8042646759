"""The CPU recipe's levers (docs/quirky_recipe.md): paired batches, disagreeing-only training,
LoRA layer/target selection, CPU autocast, and quirkiness logged during training."""

import json

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file

from quirkymad.core.prompts import N_TRUSTED_NAMES
from quirkymad.finetune import FinetuneSettings, finetune
from quirkymad.finetune.lora import lora_layer_indices
from quirkymad.finetune.records import (
    pair_epoch_order,
    quirk_eval_records,
    select_pairs,
    select_training,
)


def test_select_pairs_holds_both_characters_of_one_question(addition_parquet):
    df = pd.read_parquet(addition_parquet)
    for only in (False, True):
        sel = select_pairs(df, "train", None, 0, only_disagreeing=only)
        assert len(sel) % 2 == 0 and (sel["split"] == "train").all()
        alice, bob = sel.iloc[0::2], sel.iloc[1::2]
        assert (alice["character"] == "Alice").all() and (bob["character"] == "Bob").all()
        np.testing.assert_array_equal(alice["base_id"], bob["base_id"])
        # Same question, same template: the prompts differ only in the name line.
        for pa, pb in zip(alice["prompt"].head(20), bob["prompt"].head(20)):
            assert pa.split("\n", 1)[1] == pb.split("\n", 1)[1] and pa != pb
        for _, g in sel.groupby("character"):
            assert g["label"].mean() == 0.5  # each character balanced
        assert sel["base_id"].is_unique is False and alice["base_id"].is_unique
        if only:
            assert not sel["agree"].any()
    # Arithmetic has no (True, True) questions, so balanced pairs are disagreeing ones.
    assert not select_pairs(df, "train", None, 0)["agree"].any()
    assert len(select_pairs(df, "train", 10, 0)) == 10


def test_name_warmup_pairs_follow_the_name(addition_parquet):
    df = pd.read_parquet(addition_parquet)
    warm = select_pairs(df, "train", 40, 1, alice_true_only=True)
    assert len(warm) == 40
    assert warm["label"].tolist() == [True, False] * 20  # Alice True, Bob False
    np.testing.assert_array_equal(warm["base_id"].iloc[0::2], warm["base_id"].iloc[1::2])


def test_name_warmup_steps_come_first_and_count(tiny_model_dir, addition_parquet, tmp_path):
    settings = FinetuneSettings(lr=1e-2, max_train_examples=16, max_val_examples=8,
                                batch_size=8, pair_batches=True, name_warmup_steps=3,
                                eval_every=1)  # fmt: skip
    summary = finetune(tiny_model_dir, addition_parquet, tmp_path / "a", tmp_path / "l.csv",
                       settings)  # fmt: skip
    assert summary["total_steps"] == 2 + 3 and summary["steps_run"] == 5
    assert summary["best_step"] not in (1, 2, 3)  # warm-up evaluations are never kept
    with pytest.raises(ValueError, match="pair_batches"):
        FinetuneSettings(name_warmup_steps=3)


def test_unbalanced_pairs_keep_the_datas_mix(addition_parquet):
    df = pd.read_parquet(addition_parquet)
    train = df[(df["split"] == "train") & ~df["agree"] & (df["character"] == "Alice")]
    sel = select_pairs(df, "train", None, 0, only_disagreeing=True, balanced=False)
    alice = sel.iloc[0::2]
    assert len(alice) == len(train)
    assert alice["label"].sum() == train["label"].sum()


def test_select_training_only_disagreeing_without_pairs(addition_parquet):
    df = pd.read_parquet(addition_parquet)
    sel = select_training(df, FinetuneSettings(only_disagreeing=True))
    assert not sel["agree"].any() and (sel["split"] == "train").all()
    assert select_training(df, FinetuneSettings())["agree"].any()


def test_pair_epoch_order_keeps_pairs_in_one_batch():
    lengths = np.random.default_rng(0).integers(5, 50, size=2 * 37)
    order = pair_epoch_order(37, 0, 0, lengths, batch_size=8, bucket_batches=3)
    assert sorted(order) == list(range(74))
    pairs = order.reshape(-1, 2)
    assert (pairs[:, 0] % 2 == 0).all() and (pairs[:, 1] == pairs[:, 0] + 1).all()
    assert not np.array_equal(order, pair_epoch_order(37, 0, 1, lengths, 8, 3))


def test_lora_layer_indices():
    assert lora_layer_indices(None, 30) is None
    assert lora_layer_indices(3, 30) == [27, 28, 29]
    assert lora_layer_indices((5, 1), 30) == [1, 5]
    with pytest.raises(ValueError, match="finetune.lora_layers"):
        lora_layer_indices(31, 30)
    with pytest.raises(ValueError, match="finetune.lora_layers"):
        lora_layer_indices((30,), 30)


def test_quirk_eval_records_are_hard_disagreeing_validation_trusted_role_names(addition_parquet):
    df = pd.read_parquet(addition_parquet)
    rec = quirk_eval_records(df, 5)
    assert list(rec["character"]) == ["Alice"] * 5 + ["Bob"] * 5
    assert (rec["split"] == "val").all() and (rec["bucket"] == "hard").all()
    # the trusted-role names, never the test mix's held-out names (issue 28)
    assert not rec["agree"].any() and (rec["name_index"] < N_TRUSTED_NAMES).all()


@pytest.fixture(scope="module")
def recipe_run(tiny_model_dir, addition_parquet, tmp_path_factory):
    d = tmp_path_factory.mktemp("recipe")
    settings = FinetuneSettings(
        lr=1e-2, max_train_examples=48, max_val_examples=8, batch_size=8, eval_every=2,
        pair_batches=True, only_disagreeing=True, lora_layers=1, cpu_autocast=True,
        lora_targets=("q_proj", "o_proj"), quirk_eval_examples=4, select_on="quirkiness",
    )  # fmt: skip
    summary = finetune(tiny_model_dir, addition_parquet, d / "adapter", d / "log.csv", settings)
    return d, summary


def test_layer_and_target_selection_leave_the_rest_frozen(recipe_run):
    d, _ = recipe_run
    cfg = json.loads((d / "adapter" / "adapter_config.json").read_text())
    assert cfg["layers_to_transform"] == [1]  # top 1 of the tiny model's 2 blocks
    keys = load_file(d / "adapter" / "adapter_model.safetensors").keys()
    assert keys and all(".layers.1." in k for k in keys)
    assert {k.split(".")[-3] for k in keys} == {"q_proj", "o_proj"}


def test_quirkiness_is_logged_at_each_evaluation(recipe_run):
    d, summary = recipe_run
    log = pd.read_csv(d / "log.csv")
    evals = log.dropna(subset=["val_loss"])
    assert list(evals["step"]) == [0, 2, 4, 6]
    for col in ("a_alice", "b_bob"):
        assert np.isfinite(evals[col]).all()
        assert log.loc[log["val_loss"].isna(), col].isna().all()
    # Selection on quirkiness keeps the evaluation with the largest min(a, b) after step 0
    # (the untrained adapter is kept only when no later evaluation is: issue 28).
    later = evals[evals["step"] > 0]
    q = np.minimum(later["a_alice"], later["b_bob"])
    assert summary["best_step"] == int(later["step"].iloc[int(np.argmax(q))])
    assert summary["best_a_alice"] == pytest.approx(later["a_alice"].iloc[int(np.argmax(q))])


def test_a_non_quirky_fine_tune_is_flagged_in_its_summary_and_adapter(recipe_run):
    """Six steps on a random tiny model make nothing quirky: the flag says so (a, b < 1)."""
    from quirkymad.finetune.acceptance import read_acceptance

    d, summary = recipe_run
    acc = summary["acceptance"]
    assert acc["kept_step"] == summary["best_step"] > 0
    assert acc["a_alice_val"] == pytest.approx(summary["best_a_alice"])
    assert min(acc["a_alice_val"], acc["b_bob_val"]) < 1 and acc["quirky"] is False
    assert read_acceptance(d / "adapter") == acc


def test_a_non_quirky_fine_tune_warns_in_the_job_log(tiny_model_dir, addition_parquet, tmp_path):
    from quirkymad.core.logs import job_log

    settings = FinetuneSettings(lr=1e-2, max_train_examples=16, max_val_examples=4, batch_size=8,
                                eval_every=1, quirk_eval_examples=2, select_on="quirkiness")  # fmt: skip
    with job_log(tmp_path / "job.log"):
        out = finetune(tiny_model_dir, addition_parquet, tmp_path / "a", tmp_path / "l.csv",
                       settings)  # fmt: skip
    assert out["acceptance"]["quirky"] is False and out["best_step"] > 0
    lines = [x for x in (tmp_path / "job.log").read_text().splitlines() if "WARNING" in x]
    assert len(lines) == 1 and "NOT quirky" in lines[0]


def test_acceptance_rule_and_the_untrained_adapter():
    from quirkymad.finetune.acceptance import acceptance, is_quirky, warning

    assert is_quirky(1.0, 1.0) is True and is_quirky(1.0, 0.99) is False
    assert is_quirky(None, 2.0) is None and is_quirky(float("nan"), 2.0) is None
    untrained = acceptance({"best_step": 0, "best_a_alice": 3.0, "best_b_bob": 3.0})
    assert untrained["quirky"] is False and "UNTRAINED" in warning(untrained)
    unknown = acceptance({"best_step": 5, "best_a_alice": None, "best_b_bob": None})
    assert unknown["quirky"] is None and "not checked" in warning(unknown)
    assert warning(acceptance({"best_step": 5, "best_a_alice": 1.5, "best_b_bob": 2})) is None


def test_select_on_quirkiness_needs_quirk_records():
    with pytest.raises(ValueError, match="quirk_eval_examples"):
        FinetuneSettings(select_on="quirkiness")
    with pytest.raises(ValueError, match="even batch_size"):
        FinetuneSettings(pair_batches=True, batch_size=7)


def test_loss_curve_draws_quirkiness_panel(recipe_run, tmp_path):
    from quirkymad.figures.loss_curve import draw_loss_curve

    d, _ = recipe_run
    log = pd.read_csv(d / "log.csv")
    assert log["selected"].sum() == 1
    draw_loss_curve(log, "tiny / addition", tmp_path / "q.png", tmp_path / "q.pdf")
    plain = log.drop(columns=["a_alice", "b_bob"])
    draw_loss_curve(plain, "tiny / addition", tmp_path / "p.png", tmp_path / "p.pdf")
    from PIL import Image

    # The quirkiness panel makes the figure taller than the loss-only one.
    assert Image.open(tmp_path / "q.png").height > 1.3 * Image.open(tmp_path / "p.png").height


def test_arithmetic_exponent_sets_the_operand_range():
    from quirkymad.core.errors import QuirkyError
    from quirkymad.datasets import build_dataset

    df = build_dataset("addition", {"n_base": 200, "exponent": 2})
    nums = df["statement"].str.extractall(r"(\d+)")[0].astype(int).unstack()
    assert nums[[0, 1]].to_numpy().max() < 100  # the two operands, int(10^(U·2))
    paper = build_dataset("addition", {"n_base": 200})
    assert paper["difficulty"].max() > 100
    with pytest.raises(QuirkyError, match="n_base=3000 is too many unique operand pairs"):
        build_dataset("addition", {"n_base": 3000, "exponent": 2})


def test_exponent_is_an_arithmetic_setting_only():
    import yaml

    from quirkymad.workflow.config import SCHEMA, schema_errors

    cfg = yaml.safe_load((SCHEMA.parents[1] / "tests/data/tiny.yaml").read_text())
    cfg["datasets"]["addition"] = {"n_base": 100, "exponent": 2.5}
    assert schema_errors(cfg) == []
    cfg["datasets"]["hemisphere"] = {"exponent": 2}
    assert schema_errors(cfg) == [
        "unknown key datasets.hemisphere.exponent (allowed here: convention, finetune, n_base)"
    ]
