"""Detectors over all layers at once, on the GPU when one is present (float64 throughout).

The per-layer detectors loop over layers on the CPU; here the layers are a batch dimension:
trusted `[L, n, d]`, test `[L, m, d]` -> scores `[L, m]`, each with the per-layer formula:

- Mahalanobis (spec §6.1, `mahalanobis.py`): s = (x − μ)ᵀ Σ⁺ (x − μ) / d, Σ the sample
  covariance (÷(n−1)), Σ⁺ the Hermitian pseudo-inverse dropping eigenvalues < `rcond · λ_max`.
- diagonal Mahalanobis (spec §6.2, `diag_mahalanobis.py`): s = mean_j ((x_j − μ_j)/σ_j)², σ the
  population std clamped at `min_std`.
- QUE (spec §6.6, `que.py`): W = V·diag(λ^{−1/2}) (columns with λ < rcond·λ_max zeroed),
  C = Wᵀ Σ_U W, s = z · expm(α C/λ_max(C)) · zᵀ with z = (x − μ)W.
- PCA-Mahalanobis (`pca_mahalanobis.py`): s = (1/k) Σ_{j≤k} ((x − μ)·v_j)²/λ_j, top k of Σ.

The shared maths (covariance, pseudo-inverse, whitenings) is `linalg.py`'s, the functions the
per-layer detectors call; the defaults are the detectors' Params'. The Gaussian offline
detectors keep their all-layer functions beside their formulas, since their per-layer paths
are the same functions at L = 1 (`gaussian.py`): likelihood ratio
(`likelihood_ratio.py: likelihood_ratio_all_layers`) and two-Gaussian EM
(`gaussian_em.py: gaussian_em_all_layers`).
"""

from __future__ import annotations

import torch

from quirkymad.detectors.linalg import mean_cov, pca_whitening, pinv_psd, whitening
from quirkymad.detectors.params import (
    DiagMahalanobisParams,
    MahalanobisParams,
    PCAMahalanobisParams,
    QUEParams,
)


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def mahalanobis_all_layers(
    trusted: torch.Tensor,
    test: torch.Tensor,
    rcond: float = MahalanobisParams.rcond,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Mahalanobis scores `[L, m]` of `test` `[L, m, d]` against `trusted` `[L, n, d]`."""
    device = device or default_device()
    x = trusted.to(device, torch.float64)
    mu, cov = mean_cov(x)  # [L, d], [L, d, d]
    prec = pinv_psd(cov, rcond)
    yc = test.to(device, torch.float64) - mu.unsqueeze(1)  # [L, m, d]
    return ((yc @ prec) * yc).sum(-1).cpu() / x.shape[2]


def diag_mahalanobis_all_layers(
    trusted: torch.Tensor,
    test: torch.Tensor,
    min_std: float = DiagMahalanobisParams.min_std,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Diagonal Mahalanobis scores `[L, m]` of `test` `[L, m, d]` against `trusted` `[L, n, d]`."""
    device = device or default_device()
    x = trusted.to(device, torch.float64)
    mu = x.mean(1, keepdim=True)
    std = x.std(1, correction=0, keepdim=True).clamp_min(min_std)
    z = (test.to(device, torch.float64) - mu) / std
    return (z**2).mean(-1).cpu()


def que_all_layers(
    trusted: torch.Tensor,
    untrusted: torch.Tensor,
    test: torch.Tensor,
    alpha: float = QUEParams.alpha,
    rcond: float = QUEParams.rcond,
    device: torch.device | None = None,
) -> torch.Tensor:
    """QUE scores `[L, m]` of `test` `[L, m, d]`; trusted `[L, n, d]`, untrusted `[L, u, d]`."""
    device = device or default_device()
    x = trusted.to(device, torch.float64)
    mu, cov = mean_cov(x)
    w = whitening(cov, rcond)[3]  # [L, d, d], column j scaled by λ_j^{-1/2}
    _, cov_u = mean_cov(untrusted.to(device, torch.float64))
    c = w.transpose(1, 2) @ cov_u @ w
    norm = torch.linalg.eigvalsh(c).amax(-1)[:, None, None]
    weight = torch.linalg.matrix_exp(alpha * c / norm)
    z = (test.to(device, torch.float64) - mu.unsqueeze(1)) @ w  # [L, m, d]
    return ((z @ weight) * z).sum(-1).cpu()


def pca_mahalanobis_all_layers(
    trusted: torch.Tensor,
    test: torch.Tensor,
    n_components: float = PCAMahalanobisParams.n_components,
    device: torch.device | None = None,
) -> torch.Tensor:
    """PCA-Mahalanobis scores `[L, m]` of `test` `[L, m, d]` against `trusted` `[L, n, d]`:
    s = (1/k) Σ_{j≤k} ((x − μ)·v_j)²/λ_j over the top k principal components (spec §6,
    `pca_mahalanobis.py`)."""
    device = device or default_device()
    mu, w, k = pca_whitening(trusted.to(device, torch.float64), n_components)
    z = (test.to(device, torch.float64) - mu) @ w  # [L, m, d]
    return ((z**2).sum(-1) / k[:, None]).cpu()
