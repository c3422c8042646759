"""Gaussian likelihood ratio, offline ([B1] "likelihood ratio"; spec §6, optional there).

Two Gaussians, each with the Ledoit–Wolf shrunk covariance of `gaussian.py` (n < d: the
sample covariance alone is singular): N_T fitted on the trusted records, N_U on the unlabelled
untrusted set U (the test mix, or the easy untrusted records: `untrusted`, as for QUE, C1).
s(x) = log N_U(x) − log N_T(x): higher = better explained by the untrusted mix than by trusted
data = more anomalous. In nats, summed over dimensions (no ÷d).
"""

from __future__ import annotations

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.gaussian import cholesky, ledoit_wolf, logpdf
from quirkymad.detectors.params import LikelihoodRatioParams


def fit_two_gaussians(trusted: torch.Tensor, untrusted: torch.Tensor, ridge: float):
    """(μ_T, L_T, μ_U, L_U): means `[L, 1, d]` and Cholesky factors `[L, d, d]`."""
    if untrusted is None or untrusted.shape[1] < 2:
        raise ValueError("this detector is offline: it needs at least 2 untrusted examples")
    mu_t, cov_t, _ = ledoit_wolf(trusted, ridge)
    mu_u, cov_u, _ = ledoit_wolf(untrusted, ridge)
    return mu_t, cholesky(cov_t), mu_u, cholesky(cov_u)


def likelihood_ratio_all_layers(trusted, untrusted, test, ridge: float = 1e-6, device=None):
    """Scores `[L, m]` of `test` `[L, m, d]`; trusted `[L, n, d]`, untrusted `[L, u, d]`."""
    from quirkymad.detectors.batched import default_device

    device = device or default_device()
    mu_t, l_t, mu_u, l_u = fit_two_gaussians(
        trusted.to(device, torch.float64), untrusted.to(device, torch.float64), ridge
    )
    x = test.to(device, torch.float64)
    return (logpdf(x, mu_u, l_u) - logpdf(x, mu_t, l_t)).cpu()


@register_detector
class LikelihoodRatio(Detector):
    name = "likelihood_ratio"
    Params = LikelihoodRatioParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> LikelihoodRatio:
        u = None if untrusted is None else torch.as_tensor(untrusted, dtype=torch.float64)[None]
        t = torch.as_tensor(trusted, dtype=torch.float64)[None]
        self.fitted = fit_two_gaussians(t, u, self.params.ridge)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        mu_t, l_t, mu_u, l_u = self.fitted
        x = torch.as_tensor(x, dtype=torch.float64)[None]
        return (logpdf(x, mu_u, l_u) - logpdf(x, mu_t, l_t))[0].numpy()

    def score_all_layers(self, trusted, test, untrusted=None):
        if untrusted is None:
            raise ValueError("this detector is offline: it needs at least 2 untrusted examples")
        return likelihood_ratio_all_layers(trusted, untrusted, test, ridge=self.params.ridge)
