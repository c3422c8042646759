"""Top-k sparse autoencoder (Gao et al. 2024, as in EleutherAI's sparsify), a short torch module.

z = TopK(ReLU(W_enc (x − b_dec) + b_enc)), x̂ = W_dec z + b_dec; trained on MSE with Adam.
Scores built on it (spec): diagonal Mahalanobis on the latents `z` `[n, n_latents]`, and l0
novelty = number of latents active on an example that never fired on the training data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from quirkymad.transforms.base import register_transform


@dataclass(frozen=True)
class SAEParams:
    expansion: int = 8
    k: int = 32
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0


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
        pre = torch.relu(self.encoder(x - self.b_dec))
        top = pre.topk(min(self.k, pre.shape[1]), dim=1)
        return torch.zeros_like(pre).scatter(1, top.indices, top.values)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x) @ self.W_dec + self.b_dec

    @torch.no_grad()
    def l0_novelty(self, x: torch.Tensor) -> torch.Tensor:
        """Number of latents active on each row `[m]` that never fired in training."""
        return ((self.encode(x) > 0) & ~self.fired).sum(1)


@register_transform("sae")
def fit_sae(x: torch.Tensor, params: SAEParams = SAEParams()) -> TopKSAE:
    """Train a top-k SAE on `x` `[n, d]`; records which latents fired on `x`."""
    torch.manual_seed(params.seed)
    x = x.float()
    sae = TopKSAE(x.shape[1], x.shape[1] * params.expansion, params.k)
    opt = torch.optim.Adam(sae.parameters(), lr=params.lr)
    gen = torch.Generator().manual_seed(params.seed)
    for _ in range(params.epochs):
        for idx in torch.randperm(len(x), generator=gen).split(params.batch_size):
            loss = (sae(x[idx]) - x[idx]).pow(2).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        sae.fired |= (sae.encode(x) > 0).any(0)
    return sae
