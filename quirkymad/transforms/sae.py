"""Top-k sparse autoencoder (Gao et al. 2024, as in EleutherAI's sparsify), a short torch module.

z = TopK(ReLU(W_enc (x − b_dec) + b_enc)), x̂ = W_dec z + b_dec; trained on MSE with Adam.
Detectors see the latents z `[n, d·expansion]` (spec §5: SAE diag-Mahalanobis); the module
also records which latents fired on its training data, for l0 novelty (spec §6.3,
`detectors/sae_l0.py`).
"""

from __future__ import annotations

import torch
from torch import nn

from quirkymad.transforms.base import TransformKind, register_transform, train_steps
from quirkymad.transforms.params import SAEParams


class TopKSAE(nn.Module):
    """`[n, d] -> latents [n, d·expansion]` with exactly `k` non-negative non-zeros per row."""

    def __init__(self, d: int, n_latents: int, k: int):
        super().__init__()
        self.k = k
        self.encoder = nn.Linear(d, n_latents)
        self.W_dec = nn.Parameter(self.encoder.weight.detach().clone())
        self.b_dec = nn.Parameter(torch.zeros(d))
        self.register_buffer("fired", torch.zeros(n_latents, dtype=torch.bool))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        pre = torch.relu(self.encoder(x.float() - self.b_dec))
        top = pre.topk(min(self.k, pre.shape[1]), dim=1)
        return torch.zeros_like(pre).scatter(1, top.indices, top.values)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x) @ self.W_dec + self.b_dec

    @torch.no_grad()
    def l0_novelty(self, x: torch.Tensor) -> torch.Tensor:
        """Number of latents active on each row `[m]` that never fired in training."""
        return ((self.encode(x) > 0) & ~self.fired).sum(1)


def build_sae(d: int, params: SAEParams) -> TopKSAE:
    return TopKSAE(d, d * params.expansion, params.k)


def sae_loss(sae: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Mean squared reconstruction error per example (summed over dimensions)."""
    return (sae(x) - x).pow(2).sum(1).mean()


def fit_sae(x: torch.Tensor, params: SAEParams) -> TopKSAE:
    """Train a top-k SAE on `x` `[n, d]`, on `x`'s device; records which latents fired on `x`.
    The weights are initialised on the CPU (same seed, same start on every device)."""
    torch.manual_seed(params.seed)
    x = x.float()
    sae = build_sae(x.shape[1], params).to(x.device)
    train_steps(sae, x, sae_loss, params.steps, params.batch_size, params.lr, params.seed)
    with torch.no_grad():
        sae.fired |= (sae.encode(x) > 0).any(0)
    return sae


@torch.no_grad()
def apply_sae(sae: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return sae.encode(x)


SAE = register_transform(TransformKind("sae", SAEParams, build_sae, fit_sae, sae_loss, apply_sae))
