"""PCA-Mahalanobis: Mahalanobis distance in the span of the trusted set's top principal
components ([B1] "activations-PCA-Mahalanobis"; spec §6, PC count unknown there, C13).

With Σ = VΛVᵀ the trusted sample covariance (÷(n−1)), λ₁ ≥ λ₂ ≥ …, and the top k eigenpairs:
s(x) = (1/k) Σ_{j≤k} ((x − μ)·v_j)² / λ_j, the mean squared whitened coordinate (≈ 1 on
trusted data, so layers with different k average on one scale). Equivalent to scikit-learn's
`PCA(n_components=k, whiten=True)` followed by the mean of squares (tests/detectors).

How it differs from `mahalanobis` (spec §6.1): that one keeps every direction with
λ ≥ rcond·λ_max (with n trusted < d, at most n − 1 of them) and weights each by 1/λ, so its
score is dominated by the *low*-variance directions the trusted set barely moves in; this one
keeps only the k *highest*-variance directions and ignores everything else. A shift that lives
off the top-k subspace is invisible to it (docs/detectors.md).
"""

from __future__ import annotations

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.linalg import pca_whitening
from quirkymad.detectors.params import PCAMahalanobisParams


@register_detector
class PCAMahalanobis(Detector):
    name = "pca_mahalanobis"
    Params = PCAMahalanobisParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> PCAMahalanobis:
        x = torch.as_tensor(trusted, dtype=torch.float64)[None]
        mu, w, k = pca_whitening(x, self.params.n_components)
        self.mu, self.w, self.k = mu[0, 0], w[0], int(k[0])
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        z = (torch.as_tensor(x, dtype=torch.float64) - self.mu) @ self.w
        return ((z**2).sum(1) / self.k).numpy()

    def score_all_layers(self, trusted, test, untrusted=None):
        from quirkymad.detectors.batched import pca_mahalanobis_all_layers

        return pca_mahalanobis_all_layers(trusted, test, n_components=self.params.n_components)
