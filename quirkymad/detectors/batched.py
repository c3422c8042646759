"""Mahalanobis over all layers at once (spec §6.1), on the GPU when one is present.

The per-layer detector (`mahalanobis.py`) loops over layers on the CPU; here the layers are a
batch dimension: trusted `[L, n, d]`, test `[L, m, d]` -> scores `[L, m]`, with
s = (x − μ)ᵀ Σ⁺ (x − μ) / d, Σ the sample covariance (÷(n−1)) and Σ⁺ the Hermitian
pseudo-inverse dropping eigenvalues below `rcond · λ_max` — the same formula, float64.
"""

from __future__ import annotations

import torch


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def mahalanobis_all_layers(
    trusted: torch.Tensor,
    test: torch.Tensor,
    rcond: float = 1e-3,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Mahalanobis scores `[L, m]` of `test` `[L, m, d]` against `trusted` `[L, n, d]`."""
    device = device or default_device()
    x = trusted.to(device, torch.float64)
    mu = x.mean(1, keepdim=True)  # [L, 1, d]
    xc = x - mu
    cov = xc.transpose(1, 2) @ xc / max(x.shape[1] - 1, 1)  # [L, d, d]
    prec = torch.linalg.pinv(cov, rtol=rcond, hermitian=True)
    yc = test.to(device, torch.float64) - mu  # [L, m, d]
    return ((yc @ prec) * yc).sum(-1).cpu() / x.shape[2]
