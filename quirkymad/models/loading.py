"""Loading a prepared model (plus an optional LoRA adapter) for training or extraction."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import check_weights
from quirkymad.core.run_settings import RUN
from quirkymad.models.base import load_manifest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str = "auto") -> torch.device:
    """`auto` picks CUDA when present, else CPU. CUDA asked for on a machine without it is a
    QuirkyError naming `device`, raised before any weights load (in the job, not at plan time:
    a cluster's login node has no GPU, its compute nodes do)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        build = "a CUDA build" if torch.backends.cuda.is_built() else "a CPU-only build"
        raise QuirkyError(
            f"device: {device}, but CUDA is not available on this machine (torch"
            f" {torch.__version__}, {build}); run on a GPU node or set device: auto or cpu"
        )
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """`auto` = bfloat16 on CUDA, float32 on CPU (CPU bf16 matmuls are slow and inexact)."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return DTYPES[dtype]


def load_tokenizer(model_dir: str | Path):
    """The tokenizer of a prepared model; right padding with EOS as pad (paper's recipe)."""
    from transformers import AutoTokenizer

    check_weights(model_dir)
    tok = AutoTokenizer.from_pretrained(load_manifest(model_dir)["weights"])
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    return tok


def load_model(
    model_dir: str | Path,
    adapter_dir: str | Path | None = None,
    device: str = RUN.device,
    dtype: str = "auto",
):
    """(model, tokenizer) in eval mode; the adapter, if given, is merged into the weights.
    Both directories are checked first (file list, safetensors headers: quirkymad/core/integrity.py)."""
    from transformers import AutoModelForCausalLM

    dev = resolve_device(device)
    for directory in (model_dir, adapter_dir):
        if directory is not None:
            check_weights(directory)
    model = AutoModelForCausalLM.from_pretrained(
        load_manifest(model_dir)["weights"], dtype=resolve_dtype(dtype, dev)
    )
    if adapter_dir is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    model.to(dev).eval()
    return model, load_tokenizer(model_dir)
