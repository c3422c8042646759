"""Quantum-entropy (QUE) scoring, offline (cupbearer `que_detector.py`; spec §6.6, C1).

Whitening from the trusted covariance Σ = VΛVᵀ: W = V·diag(λ^{−1/2}), columns with
λ < rcond·λ_max zeroed. With the untrusted set U, C = Wᵀ Σ_U W (Σ_U about U's own mean) and
‖C‖ = λ_max(C). For z = (x − μ)W: s(x) = z · expm(α C / ‖C‖) · zᵀ (no ÷d).
"""

from __future__ import annotations

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.linalg import mean_cov, whitening
from quirkymad.detectors.params import QUEParams


@register_detector
class QUE(Detector):
    name = "que"
    Params = QUEParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> QUE:
        if untrusted is None or len(untrusted) < 2:
            raise ValueError("QUE is offline: it needs at least 2 untrusted examples")
        mu, cov = mean_cov(torch.as_tensor(trusted))
        w = whitening(cov, self.params.rcond)[3]
        _, cov_u = mean_cov(torch.as_tensor(untrusted))
        c = w.T @ cov_u @ w
        norm = torch.linalg.eigvalsh(c).max()
        self.mu, self.w = mu, w
        self.weight = torch.linalg.matrix_exp(self.params.alpha * c / norm)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        z = (torch.as_tensor(x, dtype=torch.float64) - self.mu) @ self.w
        return torch.einsum("md,de,me->m", z, self.weight, z).numpy()

    def score_all_layers(self, trusted, test, untrusted=None):
        from quirkymad.detectors.batched import que_all_layers

        if untrusted is None or untrusted.shape[1] < 2:
            raise ValueError("QUE is offline: it needs at least 2 untrusted examples")
        return que_all_layers(
            trusted, untrusted, test, alpha=self.params.alpha, rcond=self.params.rcond
        )
