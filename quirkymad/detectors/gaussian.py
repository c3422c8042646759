"""Shrunk Gaussians over a batch of layers, for the offline Gaussian detectors (float64).

Shapes carry a leading layer axis L (the per-layer detectors use L = 1): data `[L, n, d]`.

Regulariser for n < d ([B1] does not say which it used): the Ledoit–Wolf estimate
Σ̂ = (1 − δ)·S + δ·m·I, S the maximum-likelihood covariance (÷n), m = tr S / d and δ ∈ [0, 1]
the Ledoit–Wolf (2004) shrinkage, computed as scikit-learn's `ledoit_wolf_shrinkage` does
(tests/detectors: equal to `sklearn.covariance.LedoitWolf().covariance_`), plus a ridge
`ridge·m·I` so that a sample whose δ comes out 0 with a singular S (constant dimensions) still
has a Cholesky factor. The formula is written out here because scikit-learn's estimator is
per-matrix and CPU-only; the batched detectors run all layers at once on a GPU when present.
"""

from __future__ import annotations

import math

import torch


def ledoit_wolf(x: torch.Tensor, ridge: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean `[L, 1, d]`, shrunk covariance `[L, d, d]` (+ ridge) and shrinkage δ `[L]` of `x`
    `[L, n, d]` (see the module docstring)."""
    x = x.double()
    n, d = x.shape[1], x.shape[2]
    mu = x.mean(1, keepdim=True)
    xc = x - mu
    s = xc.transpose(1, 2) @ xc / n
    m = s.diagonal(dim1=1, dim2=2).sum(-1) / d  # [L]
    beta_ = ((xc**2).sum(-1) ** 2).sum(-1)  # Σ_i ‖x_i‖⁴ = sum of <X², X²>'s entries
    delta_ = (s**2).sum((1, 2))  # ‖XᵀX‖²_F / n²
    beta = (beta_ / n - delta_) / (d * n)
    delta = (delta_ - d * m**2) / d  # ‖S − m·I‖²_F / d
    beta = torch.minimum(beta, delta)
    shrink = torch.where((beta > 0) & (delta > 0), beta / delta.clamp_min(1e-300), 0.0)
    if d == 1:  # scikit-learn: one feature, no shrinkage
        shrink = torch.zeros_like(shrink)
    return mu, shrink_to(s, shrink, ridge), shrink


def shrink_to(s: torch.Tensor, shrink: torch.Tensor, ridge: float) -> torch.Tensor:
    """(1 − δ)·S + (δ + ridge)·(tr S / d)·I for covariances `s` `[L, d, d]`, δ `[L]` given
    (ridge at scale 1 where tr S = 0)."""
    d = s.shape[-1]
    m = s.diagonal(dim1=1, dim2=2).sum(-1) / d
    # A layer with no variance at all (every record equal) gets the ridge at unit scale, so its
    # Gaussian is still defined (and every record scores alike) instead of failing.
    lift = shrink * m + ridge * torch.where(m > 0, m, torch.ones_like(m))
    eye = torch.eye(d, dtype=s.dtype, device=s.device)
    return (1 - shrink)[:, None, None] * s + lift[:, None, None] * eye


def cholesky(cov: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor `[L, d, d]`; ValueError if not positive definite (`ridge` = 0
    with a singular, unshrunk covariance)."""
    chol, info = torch.linalg.cholesky_ex(cov)
    if (info != 0).any():
        raise ValueError("covariance not positive definite; set a `ridge` > 0")
    return chol


def logpdf(x: torch.Tensor, mu: torch.Tensor, chol: torch.Tensor) -> torch.Tensor:
    """log N(x; μ, LLᵀ) `[L, m]` for `x` `[L, m, d]`, `mu` `[L, 1, d]`, `chol` `[L, d, d]`."""
    d = x.shape[-1]
    z = torch.linalg.solve_triangular(chol, (x.double() - mu).transpose(1, 2), upper=False)
    logdet = 2 * torch.log(chol.diagonal(dim1=1, dim2=2)).sum(-1)  # [L]
    return -0.5 * ((z**2).sum(1) + logdet[:, None] + d * math.log(2 * math.pi))
