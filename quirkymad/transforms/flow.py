"""Normalising flow with a Laplace(0, 1) prior per dimension (spec; architecture unknown, C13).

Inputs are standardised with the training mean/std, then a zuko MAF (autoregressive affine
transforms) maps them to u with base distribution ∏ Laplace(0, 1). Scores (spec, C7):
−log p(u) under the prior of the transformed activation (higher = more anomalous), and
Mahalanobis on u.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import zuko
from torch import nn

from quirkymad.transforms.base import register_transform


@dataclass(frozen=True)
class FlowParams:
    transforms: int = 3
    hidden: int = 128
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0


class LaplaceFlow(nn.Module):
    """Standardise, then MAF to a Laplace(0, 1) base: `[n, d] -> u [n, d]`."""

    def __init__(self, d: int, params: FlowParams):
        super().__init__()
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("std", torch.ones(d))
        self.maf = zuko.flows.MAF(
            d, transforms=params.transforms, hidden_features=(params.hidden, params.hidden)
        )

    def _z(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Transformed activation u `[n, d]`."""
        return self.maf.transform()(self._z(x))

    def prior_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Σ_j log Laplace(u_j; 0, 1) = −Σ|u_j| − d·log 2, `[n]`."""
        u = self(x)
        return -u.abs().sum(1) - u.shape[1] * torch.log(torch.tensor(2.0))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Full flow log-density of the standardised input (training objective), `[n]`."""
        u, ladj = self.maf.transform().call_and_ladj(self._z(x))
        return -u.abs().sum(1) - u.shape[1] * torch.log(torch.tensor(2.0)) + ladj


@register_transform("flow")
def fit_flow(x: torch.Tensor, params: FlowParams = FlowParams()) -> LaplaceFlow:
    """Maximum-likelihood training of a Laplace-prior MAF on `x` `[n, d]`."""
    torch.manual_seed(params.seed)
    x = x.float()
    flow = LaplaceFlow(x.shape[1], params)
    flow.mean.copy_(x.mean(0))
    flow.std.copy_(x.std(0).clamp_min(1e-6))
    opt = torch.optim.Adam(flow.parameters(), lr=params.lr)
    gen = torch.Generator().manual_seed(params.seed)
    for _ in range(params.epochs):
        for idx in torch.randperm(len(x), generator=gen).split(params.batch_size):
            loss = -flow.log_prob(x[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return flow.eval()
