"""Capturing the residual stream at the last prompt token with forward hooks.

Layer ℓ ∈ 1..n is Hugging Face's `hidden_states[ℓ]`: the residual stream entering decoder
block ℓ (the input of its first RMSNorm) for ℓ < n, and the final-norm output for ℓ = n.
Gathering inside the hook keeps only `[batch, d_model]` per layer, not `[batch, seq, d_model]`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch


def decoder_layers(model) -> torch.nn.ModuleList:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_decoder().layers


def n_layers(model) -> int:
    return len(decoder_layers(model))


@contextlib.contextmanager
def last_token_residuals(
    model, layers: Sequence[int], last: torch.Tensor
) -> Iterator[dict[int, torch.Tensor]]:
    """While active, each forward fills `{layer: [batch, d_model]}` at positions `last`."""
    blocks = decoder_layers(model)
    n = len(blocks)
    bad = [ell for ell in layers if not 1 <= ell <= n]
    if bad:
        raise ValueError(f"layers {bad} out of range 1..{n} for this model")
    captured: dict[int, torch.Tensor] = {}
    rows = torch.arange(last.shape[0])

    def grab(ell: int, hidden: torch.Tensor) -> None:
        captured[ell] = hidden[rows.to(hidden.device), last.to(hidden.device)]

    handles = []
    for ell in layers:
        if ell < n:

            def pre_hook(module, args, kwargs, ell=ell):
                grab(ell, args[0] if args else kwargs["hidden_states"])

            handles.append(blocks[ell].register_forward_pre_hook(pre_hook, with_kwargs=True))
        else:
            base = model.get_base_model() if hasattr(model, "get_base_model") else model

            def post_hook(module, args, output):
                grab(n, output)

            handles.append(base.get_decoder().norm.register_forward_hook(post_hook))
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()
