"""Mahalanobis distance to the trusted mean (cupbearer `MahalanobisDetector`; spec §6.1).

s(x) = (x − μ)ᵀ Σ⁺ (x − μ) / d, with μ, Σ the trusted mean and sample covariance and Σ⁺ the
Hermitian pseudo-inverse dropping eigenvalues below `rcond · λ_max`. No shrinkage.
"""

from __future__ import annotations

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.linalg import mean_cov, pinv_psd, quadratic_form
from quirkymad.detectors.params import MahalanobisParams


@register_detector
class Mahalanobis(Detector):
    name = "mahalanobis"
    Params = MahalanobisParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> Mahalanobis:
        mu, cov = mean_cov(torch.as_tensor(trusted))
        self.mu, self.prec = mu, pinv_psd(cov, self.params.rcond)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(x)
        return (quadratic_form(x, self.mu, self.prec) / x.shape[1]).numpy()

    def score_all_layers(self, trusted, test, untrusted=None):
        from quirkymad.detectors.batched import mahalanobis_all_layers

        return mahalanobis_all_layers(trusted, test, rcond=self.params.rcond)
