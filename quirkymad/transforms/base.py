"""The transform interface and registry, and the Adam loop both transforms train with.

A transform kind bundles its frozen `Params` (config keys), `build(d, params)` (an untrained
module for `d` inputs, also used to reload saved weights), `fit(x, params)`, `loss(module, x)`
(the training objective, a scalar) and `apply(module, x)` (the features detectors see).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quirkymad.core.registry import LazyRegistry

if TYPE_CHECKING:  # torch is imported by the kinds' modules: the registry and Params need none
    import torch
    from torch import nn


@dataclass(frozen=True)
class TransformKind:
    name: str
    Params: type
    build: Callable[[int, Any], nn.Module]
    fit: Callable[[torch.Tensor, Any], nn.Module]
    loss: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    apply: Callable[[nn.Module, torch.Tensor], torch.Tensor]


# Built-in kinds by module, imported on first lookup (only a flow job imports zuko).
TRANSFORMS: LazyRegistry[TransformKind] = LazyRegistry(
    {"flow": "quirkymad.transforms.flow", "sae": "quirkymad.transforms.sae"}
)


def register_transform(kind: TransformKind) -> TransformKind:
    """Make `kind` available under `kind.name`."""
    return TRANSFORMS.register(kind.name, kind)


def train_steps(module: nn.Module, x: torch.Tensor, loss: Callable[[nn.Module, torch.Tensor],
                torch.Tensor], steps: int, batch_size: int, lr: float, seed: int) -> nn.Module:  # fmt: skip
    """`steps` Adam updates of `loss(module, batch)` on minibatches of `x` `[n, d]`, drawn by
    reshuffling `x` every epoch (generator seeded with `seed`). Returns `module` in eval mode.

    `module` and `x` are on the same device (CPU or CUDA). The shuffle is drawn on the CPU
    either way, so a CUDA fit sees the same minibatches as a CPU fit of the same seed."""
    import torch

    opt = torch.optim.Adam(module.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    done = 0
    while done < steps:
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            if done == steps:
                break
            value = loss(module, x[idx.to(x.device)])
            opt.zero_grad()
            value.backward()
            opt.step()
            done += 1
    return module.eval()
