"""Pure linear-algebra helpers shared by the Gaussian detectors, their all-layer paths
(`batched.py`) and the score decompositions (`quirkymad/explain/decompose.py`); float64.

Each takes any number of leading batch dimensions (`...`: none for one layer, `L` for all
layers at once), so the per-layer and the batched paths run the same code. The cut-offs are
the detectors' `rcond` (`params.py`); no default here, so that the callers' one is the
Params'."""

from __future__ import annotations

import torch

# Eigenvalues below this fraction of λ_max are numerically zero (n − 1 < d): never kept.
RANK_TOL = 1e-10


def mean_cov(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean `[..., d]` and sample covariance (÷(n−1)) `[..., d, d]` of `x` `[..., n, d]`."""
    x = x.double()
    mu = x.mean(-2)
    xc = x - mu.unsqueeze(-2)
    return mu, xc.mT @ xc / max(x.shape[-2] - 1, 1)


def pinv_psd(cov: torch.Tensor, rcond: float) -> torch.Tensor:
    """Hermitian pseudo-inverse dropping eigenvalues below `rcond · λ_max` (cupbearer's
    `torch.linalg.pinv(cov, rcond=..., hermitian=True)`). `[..., d, d] -> [..., d, d]`.
    The eigenvalues it keeps: `pinv_kept`."""
    return torch.linalg.pinv(cov, rtol=rcond, hermitian=True)


def pinv_kept(lam: torch.Tensor, rcond: float) -> torch.Tensor:
    """Which eigenvalues `lam` `[..., d]` of a covariance `pinv_psd` inverts (bool `[..., d]`):
    |λ| > rcond · max|λ|, `torch.linalg.pinv`'s Hermitian rule."""
    return lam.abs() > rcond * lam.abs().amax(-1, keepdim=True)


def _inv_sqrt(lam: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """λ^{−1/2} where `keep`, else 0 (`[..., d]`)."""
    return torch.where(keep, lam.clamp_min(1e-300).rsqrt(), torch.zeros_like(lam))


def whitening(
    cov: torch.Tensor, rcond: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """QUE's whitening of a trusted covariance Σ = VΛVᵀ `[..., d, d]` (spec §6.6):
    W = V·diag(λ^{−1/2}), columns with λ < rcond·λ_max zeroed. Returns λ `[..., d]`
    (ascending), V `[..., d, d]`, the kept columns (bool `[..., d]`) and W `[..., d, d]`."""
    lam, vec = torch.linalg.eigh(cov)
    keep = lam >= rcond * lam.amax(-1, keepdim=True)
    return lam, vec, keep, vec * _inv_sqrt(lam, keep).unsqueeze(-2)


def n_kept(lam: torch.Tensor, n_components: float) -> torch.Tensor:
    """Components kept per layer `[L]` (int64) for eigenvalues `lam` `[L, d]`, descending."""
    rank = (lam > RANK_TOL * lam[:, :1]).sum(-1)
    if n_components >= 1:
        k = torch.full_like(rank, int(n_components))
    else:
        frac = lam.clamp_min(0).cumsum(-1) / lam.clamp_min(0).sum(-1, keepdim=True)
        # fewest components with cumulative fraction ≥ n_components (sklearn: searchsorted, +1)
        k = (frac < n_components).sum(-1) + 1
    return torch.minimum(k, rank).clamp_min(1)


def pca_whitening(
    x: torch.Tensor, n_components: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PCA-Mahalanobis' whitening (`pca_mahalanobis.py`): mean `[L, 1, d]`, whitening
    `[L, d, r]` (columns v_j / √λ_j for the top k_ℓ components, others zero; r = min(n, d))
    and k `[L]` of trusted `x` `[L, n, d]` (float64).

    From the thin SVD of the centred data (λ_j = s_j² / (n − 1)): O(n²d) rather than the
    O(d³) of an eigendecomposition of Σ, which matters with n trusted < d."""
    mu = x.mean(1, keepdim=True)
    _, sv, vh = torch.linalg.svd(x - mu, full_matrices=False)  # descending
    lam = sv**2 / max(x.shape[1] - 1, 1)
    k = n_kept(lam, n_components)
    keep = torch.arange(lam.shape[-1], device=lam.device)[None, :] < k[:, None]
    return mu, vh.transpose(-1, -2) * _inv_sqrt(lam, keep).unsqueeze(-2), k


def quadratic_form(x: torch.Tensor, mu: torch.Tensor, prec: torch.Tensor) -> torch.Tensor:
    """(x − μ)ᵀ P (x − μ) per row: `[m, d], [d], [d, d] -> [m]`."""
    xc = x.double() - mu
    return torch.einsum("md,de,me->m", xc, prec, xc)
