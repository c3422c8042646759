"""Diagonal Mahalanobis (cupbearer `scaled_mean_difference`, l2; spec §6.2).

s(x) = mean_j ((x_j − μ_j) / σ_j)², σ_j the population std (÷n) of trusted, clamped ≥ 1e-8.
"""

from __future__ import annotations

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.params import DiagMahalanobisParams


@register_detector
class DiagMahalanobis(Detector):
    name = "diag_mahalanobis"
    Params = DiagMahalanobisParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> DiagMahalanobis:
        x = torch.as_tensor(trusted, dtype=torch.float64)
        self.mu = x.mean(0)
        self.std = x.std(0, correction=0).clamp_min(self.params.min_std)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        z = (torch.as_tensor(x, dtype=torch.float64) - self.mu) / self.std
        return (z**2).mean(1).numpy()

    def score_all_layers(self, trusted, test, untrusted=None):
        from quirkymad.detectors.batched import diag_mahalanobis_all_layers

        return diag_mahalanobis_all_layers(trusted, test, min_std=self.params.min_std)
