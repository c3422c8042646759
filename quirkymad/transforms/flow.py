"""Normalising flow with a Laplace(0, 1) prior per dimension (spec §5; architecture unknown, C13).

Inputs are standardised with the training mean/std, then a zuko MAF (autoregressive affine
transforms) maps them to u with base distribution ∏ Laplace(0, 1), trained by maximum
likelihood. Detectors see u `[n, d]` (spec §6.7: flow-Mahalanobis = Mahalanobis on u; the
flow prior score −log p(u) = Σ_j |u_j| + d·ln 2 is `detectors/flow_prior.py`).
"""

from __future__ import annotations

import math

import torch
import zuko
from torch import nn

from quirkymad.transforms.base import TransformKind, register_transform, train_steps
from quirkymad.transforms.params import FlowParams


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
        """Σ_j log Laplace(u_j; 0, 1) = −Σ|u_j| − d·log 2, `[n]` (no Jacobian; spec §6.7)."""
        u = self(x)
        return -u.abs().sum(1) - u.shape[1] * math.log(2.0)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Full flow log-density of the standardised input (training objective), `[n]`."""
        u, ladj = self.maf.transform().call_and_ladj(self._z(x))
        return -u.abs().sum(1) - u.shape[1] * math.log(2.0) + ladj


def build_flow(d: int, params: FlowParams) -> LaplaceFlow:
    return LaplaceFlow(d, params)


def flow_loss(flow: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of `x` `[n, d]`."""
    return -flow.log_prob(x).mean()


def fit_flow(x: torch.Tensor, params: FlowParams) -> LaplaceFlow:
    """Maximum-likelihood training of a Laplace-prior MAF on `x` `[n, d]`, on `x`'s device.
    The weights are initialised on the CPU (same seed, same start on every device)."""
    torch.manual_seed(params.seed)
    x = x.float()
    flow = LaplaceFlow(x.shape[1], params).to(x.device)
    flow.mean.copy_(x.mean(0))
    flow.std.copy_(x.std(0).clamp_min(1e-6))
    return train_steps(flow, x, flow_loss, params.steps, params.batch_size, params.lr, params.seed)


@torch.no_grad()
def apply_flow(flow: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return flow(x)


FLOW = register_transform(
    TransformKind("flow", FlowParams, build_flow, fit_flow, flow_loss, apply_flow)
)
