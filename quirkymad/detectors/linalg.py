"""Pure linear-algebra helpers shared by the Gaussian detectors (float64 throughout)."""

from __future__ import annotations

import torch


def mean_cov(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean `[d]` and sample covariance (÷(n−1)) `[d, d]` of `x` `[n, d]`, in float64."""
    x = x.double()
    mu = x.mean(0)
    xc = x - mu
    return mu, xc.T @ xc / max(x.shape[0] - 1, 1)


def pinv_psd(cov: torch.Tensor, rcond: float) -> torch.Tensor:
    """Hermitian pseudo-inverse dropping eigenvalues below `rcond · λ_max` (cupbearer's
    `torch.linalg.pinv(cov, rcond=..., hermitian=True)`). `[d, d] -> [d, d]`."""
    return torch.linalg.pinv(cov, rtol=rcond, hermitian=True)


def quadratic_form(x: torch.Tensor, mu: torch.Tensor, prec: torch.Tensor) -> torch.Tensor:
    """(x − μ)ᵀ P (x − μ) per row: `[m, d], [d], [d, d] -> [m]`."""
    xc = x.double() - mu
    return torch.einsum("md,de,me->m", xc, prec, xc)
