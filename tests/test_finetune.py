import json

import numpy as np
import pandas as pd
import torch

from quirkymad.finetune import select_balanced
from quirkymad.models import load_model


def test_adapter_is_saved_as_peft_safetensors(tiny_adapter):
    adapter = tiny_adapter / "adapter"
    assert (adapter / "adapter_model.safetensors").is_file()
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    assert cfg["r"] == 8 and "o_proj" not in cfg["target_modules"]
    assert set(cfg["target_modules"]) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
    summary = json.loads((adapter / "quirkymad.json").read_text())
    log = pd.read_csv(tiny_adapter / "log.csv")
    assert summary["best_val_loss"] == log["val_loss"].min()
    assert log["val_loss"].iloc[0] > summary["best_val_loss"]  # training reduced val loss


def test_adapter_changes_the_model(tiny_model_dir, tiny_adapter):
    base, tok = load_model(tiny_model_dir, device="cpu")
    tuned, _ = load_model(tiny_model_dir, tiny_adapter / "adapter", device="cpu")
    ids = tok(
        "Name: Bob\n\n***STATEMENT:*** 1 + 1 = 2.\n\nIs the statement factually correct?",
        return_tensors="pt",
    )
    with torch.no_grad():
        assert not torch.allclose(base(**ids).logits, tuned(**ids).logits)


def test_select_balanced(addition_parquet):
    df = pd.read_parquet(addition_parquet)
    sel = select_balanced(df, "train", None, 0)
    assert (sel["split"] == "train").all()
    for _, g in sel.groupby("character"):
        assert g["label"].mean() == 0.5
    assert len(select_balanced(df, "train", 10, 0)) == 10


def test_micro_batches_give_the_same_adapter(tiny_model_dir, addition_parquet, tmp_path):
    from safetensors.torch import load_file

    from quirkymad.finetune import FinetuneSettings, finetune

    adapters, losses = {}, {}
    for micro in (None, 3):
        settings = FinetuneSettings(lr=1e-2, max_train_examples=48, max_val_examples=8,
                                    batch_size=12, micro_batch_size=micro)  # fmt: skip
        out = tmp_path / str(micro)
        finetune(tiny_model_dir, addition_parquet, out / "adapter", out / "log.csv", settings)
        adapters[micro] = load_file(out / "adapter" / "adapter_model.safetensors")
        log = pd.read_csv(out / "log.csv")
        assert (log["micro_batch_size"] == (micro or 12)).all()
        losses[micro] = log["train_loss"].to_numpy()
    # Gradient scale is checked in test_finetune_step (Adam would hide it here); the losses
    # show every example counted once per step.
    np.testing.assert_allclose(losses[3], losses[None], rtol=1e-4)
    for k, want in adapters[None].items():
        # Float32 sums over other shapes only; Adam's normalisation magnifies the rounding of
        # near-zero gradients to ~1e-5 (the step itself is lr = 1e-2).
        torch.testing.assert_close(adapters[3][k], want, rtol=1e-3, atol=1e-4)


def test_epoch_order_buckets_by_length_deterministically():
    from quirkymad.finetune.records import epoch_order

    lengths = np.random.default_rng(0).integers(5, 500, size=203)
    order = epoch_order(203, 1, 0, lengths, batch_size=8, bucket_batches=5)
    assert sorted(order) == list(range(203))
    np.testing.assert_array_equal(order, epoch_order(203, 1, 0, lengths, 8, 5))
    assert not np.array_equal(order, epoch_order(203, 1, 1, lengths, 8, 5))
    assert not np.array_equal(order, epoch_order(203, 2, 0, lengths, 8, 5))

    def spread(o):  # mean within-batch length range, full batches
        return np.ptp(lengths[o[:200]].reshape(25, 8), axis=1).mean()

    plain = epoch_order(203, 1, 0)
    assert spread(order) < 0.5 * spread(plain)
    # Batches are shuffled: not in increasing length across the epoch.
    firsts = lengths[order[:200:8]]
    assert not np.all(np.diff(firsts) >= 0)


def test_loss_curve_is_drawn_from_a_training_log(tmp_path):
    from quirkymad.figures.loss_curve import draw_loss_curve

    steps = np.arange(31)
    log = pd.DataFrame({
        "step": steps,
        "train_loss": np.r_[np.nan, 0.69 * np.exp(-steps[1:] / 10)],
        "val_loss": [0.7 * np.exp(-s / 12) if s % 10 == 0 else np.nan for s in steps],
    })  # fmt: skip
    draw_loss_curve(log, "tiny / addition", tmp_path / "c.png", tmp_path / "c.pdf")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "c.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "c.png").stat().st_size > 5000
