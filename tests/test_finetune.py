import json

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
