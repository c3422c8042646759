"""Mixed precision for feature extraction (`extract.autocast`), the diagnostics' passes and CPU
fine-tuning (`finetune.cpu_autocast`): one definition, below every stage that runs a model.

`bfloat16` runs the model's matmuls in bf16 under `torch.autocast` (weights stay fp32; CPUs with
AVX512_BF16 run them natively, ≈1.9× faster for SmolLM2-135M on 2 cores,
shared/spec/cpu_levers.md). Stored features stay float32 arrays; what bf16 changes in them and
in the AUROCs is measured by bench/autocast.py and stated in docs/lean_run.md.

A CPU without native bf16 (no AVX512_BF16, no AMX: e.g. an AVX2-only AMD EPYC) emulates it,
≈25× *slower* than fp32 for a LoRA step of SmolLM2-135M (measured on 2 such cores); there the
CPU passes run in fp32 instead, with one warning (`bf16_autocast_enabled`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator

import torch

AUTOCAST = ("none", "bfloat16")

log = logging.getLogger(__name__)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matmuls in hardware (AVX512_BF16 or AMX tiles)."""
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(cpu, name, lambda: False)() for name in checks)


def bf16_autocast_enabled(device_type: str, requested: bool) -> bool:
    """Whether to run under bf16 autocast on `device_type` when the config asks (`requested`):
    on CUDA yes; on a CPU only with native bf16, else fp32 (logged once per process)."""
    if not requested or device_type != "cpu":
        return requested
    if cpu_has_native_bf16():
        return True
    _warn_emulated_bf16()
    return False


@functools.cache
def _warn_emulated_bf16() -> None:
    log.warning(
        "bf16 autocast requested, but this CPU has no native bf16 (AVX512_BF16 / AMX; torch "
        "reports %s): running in fp32, which is ≈25x faster here than emulated bf16",
        torch.backends.cpu.get_cpu_capability(),
    )


@contextlib.contextmanager
def autocast(model, mode: str) -> Iterator[None]:
    """`torch.autocast` to bf16 on the model's device when `mode` is "bfloat16" (on a CPU only
    with native bf16: `bf16_autocast_enabled`); else nothing."""
    if mode not in AUTOCAST:
        raise ValueError(f"autocast {mode!r}: one of {AUTOCAST}")
    if mode == "none":
        yield
        return
    device = next(model.parameters()).device.type
    with torch.autocast(device_type=device, dtype=torch.bfloat16,
                        enabled=bf16_autocast_enabled(device, True)):  # fmt: skip
        yield
