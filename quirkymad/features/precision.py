"""Mixed precision for feature extraction: `extract.autocast`.

`bfloat16` runs the model's matmuls in bf16 under `torch.autocast` (weights stay fp32; CPUs with
AVX512_BF16 run them natively, ≈1.9× faster for SmolLM2-135M on 2 cores,
shared/spec/cpu_levers.md). Stored features stay float32 arrays; what bf16 changes in them and
in the AUROCs is measured by bench/autocast.py and stated in docs/lean_run.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

AUTOCAST = ("none", "bfloat16")


@contextlib.contextmanager
def autocast(model, mode: str) -> Iterator[None]:
    """`torch.autocast` to bf16 on the model's device when `mode` is "bfloat16"; else nothing."""
    if mode not in AUTOCAST:
        raise ValueError(f"autocast {mode!r}: one of {AUTOCAST}")
    if mode == "none":
        yield
        return
    device = next(model.parameters()).device.type
    with torch.autocast(device_type=device, dtype=torch.bfloat16):
        yield
