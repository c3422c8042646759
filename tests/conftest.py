"""Shared fixtures: a tiny random Llama (2 layers, d=64) and a small built dataset."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from quirkymad.models import prepare_model

    out = tmp_path_factory.mktemp("models") / "tiny-random"
    prepare_model("tiny-random", {"n_layers": 2, "d_model": 64}, out)
    return out


@pytest.fixture(scope="session")
def addition_parquet(tmp_path_factory):
    from quirkymad.datasets import BuildSettings, write_dataset

    d = tmp_path_factory.mktemp("data")
    write_dataset(
        "addition", {"n_base": 3000}, BuildSettings(), d / "data.parquet", d / "card.json"
    )
    return d / "data.parquet"


@pytest.fixture(scope="session")
def tiny_adapter(tiny_model_dir, addition_parquet, tmp_path_factory):
    from quirkymad.finetune import FinetuneSettings, finetune

    d = tmp_path_factory.mktemp("adapter")
    settings = FinetuneSettings(lr=1e-2, max_train_examples=128, max_val_examples=32, epochs=1)
    finetune(tiny_model_dir, addition_parquet, d / "adapter", d / "log.csv", settings)
    return d
