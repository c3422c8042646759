"""Exact additive decompositions of detector scores (issue 21): s(x) = Σ_k c_k(x).

Each function refits the detector's own statistics with the same estimate, cut-off and
normalisation as `quirkymad/detectors/`, through the same functions
(`quirkymad/detectors/linalg.py`: `mean_cov`, `pinv_psd` and its `pinv_kept`, `whitening`;
float64) and with the same defaults (the detectors' Params), and returns a `Parts`: contributions
`[m, K]` of the `m` scored rows over `K` components, each component's reading direction in
input space (the coordinate it measures is `(x − μ)·read_k`), the direction it stands for in
input space (`write_k`, unit norm; used for cosines and the logit lens) and a scale
(eigenvalue or variance). The contributions of every row sum to the detector's score
(tests/explain/test_decompose.py checks them against the detectors to 1e-6 relative).

- Mahalanobis (spec §6.1): Σ = VΛVᵀ, Σ⁺ keeps |λ_k| > rcond·max|λ| (`torch.linalg.pinv`'s
  Hermitian rule), so s = Σ_k (v_kᵀ(x − μ))² / (λ_k d).
- diagonal Mahalanobis (spec §6.2): c_j = ((x_j − μ_j)/σ_j)² / d.
- QUE (spec §6.6): with C = U diag(γ) Uᵀ, expm(αC/‖C‖) = U diag(e^{αγ_k/‖C‖}) Uᵀ, so
  s = Σ_k e^{αγ_k/‖C‖} (z·u_k)², z = (x − μ)W. Reading direction W u_k; the direction it
  stands for in input space is Σ W u_k = V Λ^{1/2} u_k (kept eigenvalues only).
- Mahalanobis over the columns of a head feature: c_j = (x − μ)_j (Σ⁺(x − μ))_j / d, exact
  but a term can be negative (correlated columns).
- Layer aggregation (spec §6.8): s_all = mean_ℓ s_ℓ, so c_ℓ = s_ℓ / L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from quirkymad.detectors.linalg import mean_cov, pinv_kept, pinv_psd, whitening
from quirkymad.detectors.params import DiagMahalanobisParams, MahalanobisParams, QUEParams


@dataclass(frozen=True)
class Parts:
    contributions: np.ndarray
    """`[m, K]`; each row sums to the detector's score of that row."""
    read: np.ndarray
    """`[K, d]` reading directions (component value = (x − μ)·read_k)."""
    write: np.ndarray
    """`[K, d]` unit directions in input space the components stand for."""
    scale: np.ndarray
    """`[K]` eigenvalue (Mahalanobis: λ_k; QUE: γ_k/‖C‖) or variance (diagonal, columns)."""
    mu: np.ndarray
    """`[d]` trusted mean."""


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-300)


def _parts(contrib, read, write, scale, mu) -> Parts:
    return Parts(*(t.cpu().numpy() for t in (contrib, read, _unit(write), scale, mu)))


def mahalanobis_parts(
    trusted: np.ndarray, x: np.ndarray, rcond: float = MahalanobisParams.rcond
) -> Parts:
    """Mahalanobis of `x` `[m, d]` against `trusted` `[n, d]` split over the kept
    eigendirections of the trusted covariance (K ≤ d, largest eigenvalue first)."""
    mu, cov = mean_cov(torch.as_tensor(trusted))
    lam, vec = torch.linalg.eigh(cov)
    keep = pinv_kept(lam, rcond)
    lam, vec = lam[keep].flip(0), vec[:, keep].flip(1)
    proj = (torch.as_tensor(x, dtype=torch.float64) - mu) @ vec  # [m, K]
    contrib = proj**2 / lam / x.shape[1]
    return _parts(contrib, vec.T, vec.T, lam, mu)


def diag_mahalanobis_parts(
    trusted: np.ndarray, x: np.ndarray, min_std: float = DiagMahalanobisParams.min_std
) -> Parts:
    """Diagonal Mahalanobis split over the input coordinates (K = d)."""
    t = torch.as_tensor(trusted, dtype=torch.float64)
    mu, std = t.mean(0), t.std(0, correction=0).clamp_min(min_std)
    z = (torch.as_tensor(x, dtype=torch.float64) - mu) / std
    eye = torch.eye(t.shape[1], dtype=torch.float64)
    return _parts(z**2 / t.shape[1], eye / std[:, None], eye, std**2, mu)


def mahalanobis_column_parts(
    trusted: np.ndarray, x: np.ndarray, rcond: float = MahalanobisParams.rcond
) -> Parts:
    """Mahalanobis split over the input coordinates (K = d; a term may be negative)."""
    mu, cov = mean_cov(torch.as_tensor(trusted))
    prec = pinv_psd(cov, rcond)
    xc = torch.as_tensor(x, dtype=torch.float64) - mu
    eye = torch.eye(xc.shape[1], dtype=torch.float64)
    return _parts(xc * (xc @ prec) / xc.shape[1], prec, eye, torch.diagonal(cov), mu)


def que_parts(
    trusted: np.ndarray,
    untrusted: np.ndarray,
    x: np.ndarray,
    alpha: float = QUEParams.alpha,
    rcond: float = QUEParams.rcond,
) -> Parts:
    """QUE of `x` split over the eigendirections of the whitened untrusted covariance C
    (largest weight first); the same whitening and normalisation as `detectors/que.py`."""
    mu, cov = mean_cov(torch.as_tensor(trusted))
    lam, vec, keep, w = whitening(cov, rcond)
    _, cov_u = mean_cov(torch.as_tensor(untrusted))
    c = w.T @ cov_u @ w
    gamma, u = torch.linalg.eigh(c)
    gamma, u = gamma.flip(0), u.flip(1)
    norm = gamma.max()
    # Directions of dropped eigenvalues have z = 0: they carry nothing, leave them out.
    live = (u[~keep] ** 2).sum(0) < 1 - 1e-9 if (~keep).any() else torch.ones_like(gamma).bool()
    gamma, u = gamma[live], u[:, live]
    z = (torch.as_tensor(x, dtype=torch.float64) - mu) @ w
    contrib = torch.exp(alpha * gamma / norm) * (z @ u) ** 2
    read = (w @ u).T  # [K, d]
    write = (vec * torch.where(keep, lam.clamp_min(0).sqrt(), torch.zeros_like(lam)) @ u).T
    return _parts(contrib, read, write, gamma / norm, mu)


def layer_parts(layer_scores: np.ndarray) -> np.ndarray:
    """Each layer's part `[m, L]` of the aggregated score mean_ℓ s_ℓ, from `[L, m]`."""
    return np.asarray(layer_scores, dtype=np.float64).T / len(layer_scores)
