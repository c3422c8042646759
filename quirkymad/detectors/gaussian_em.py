"""Two-Gaussian EM, offline ([B1] "2-Gaussian EM"; spec §6, optional there).

The unlabelled set U (test mix or easy untrusted records: `untrusted`, C1) is modelled as
p(x) = (1 − π)·N(x; μ_T, Σ_T) + π·N(x; μ₂, Σ₂): the first component is the trusted Gaussian,
fixed; the second, free one and its weight π are fitted to U by EM (Dempster et al. 1977):

    E: r_i = π N₂(x_i) / ((1 − π) N_T(x_i) + π N₂(x_i))
    M: π = mean r;  μ₂ = Σ r_i x_i / Σ r_i;  S₂ = Σ r_i (x_i − μ₂)(x_i − μ₂)ᵀ / Σ r_i;
       Σ₂ = (1 − δ_U)·S₂ + (δ_U + ridge)·(tr S₂ / d)·I

Initialised at π = 1/2, (μ₂, Σ₂) = the Ledoit–Wolf Gaussian of U; Σ_T and δ_U are Ledoit–Wolf
(`gaussian.py`): the weighted M-step reuses U's shrinkage δ_U, since the Ledoit–Wolf formula has
no weighted form. Stops when the mean log-likelihood of U changes by < `tol` (scikit-learn
GaussianMixture's default 1e-3) or after `max_iter` M-steps, each layer on its own.

Score: the log-odds of the second component's posterior, log(π N₂(x)) − log((1 − π) N_T(x)).
It orders points exactly as the posterior r(x) does, but in d ≥ 100 dimensions the two
log-densities differ by hundreds of nats, so r(x) itself rounds to exactly 0 or 1 in float64
and would tie most test points (AUROC ties); the log-odds does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.gaussian import cholesky, ledoit_wolf, logpdf, shrink_to
from quirkymad.detectors.params import GaussianEMParams


@dataclass
class EMFit:
    """Fitted mixture per layer: trusted (μ_T `[L, 1, d]`, L_T `[L, d, d]`), free component
    (μ₂, L₂), log π `[L]`, iterations run `[L]`."""

    mu_t: torch.Tensor
    chol_t: torch.Tensor
    mu_2: torch.Tensor
    chol_2: torch.Tensor
    log_pi: torch.Tensor
    n_iter: torch.Tensor

    def log_odds(self, x: torch.Tensor) -> torch.Tensor:
        """log(π N₂(x)) − log((1 − π) N_T(x)) `[L, m]` for `x` `[L, m, d]`."""
        log_pi, log_rest = self.log_pi[:, None], torch.log1p(-self.log_pi.exp())[:, None]
        return (
            log_pi
            + logpdf(x, self.mu_2, self.chol_2)
            - log_rest
            - logpdf(x, self.mu_t, self.chol_t)
        )


def fit_em(trusted: torch.Tensor, untrusted: torch.Tensor, p: GaussianEMParams) -> EMFit:
    """EM of the module docstring on all layers: trusted `[L, n, d]`, untrusted `[L, u, d]`."""
    if untrusted is None or untrusted.shape[1] < 2:
        raise ValueError("this detector is offline: it needs at least 2 untrusted examples")
    u = untrusted.double()
    mu_t, cov_t, _ = ledoit_wolf(trusted, p.ridge)
    chol_t = cholesky(cov_t)
    mu_2, cov_2, delta_u = ledoit_wolf(u, p.ridge)
    chol_2 = cholesky(cov_2)
    log_pi = torch.full((u.shape[0],), math.log(0.5), dtype=u.dtype, device=u.device)
    logp_t = logpdf(u, mu_t, chol_t)  # fixed component: once
    done = torch.zeros(u.shape[0], dtype=torch.bool, device=u.device)
    n_iter = torch.zeros(u.shape[0], dtype=torch.long, device=u.device)
    prev = torch.full_like(log_pi, -math.inf)
    for _ in range(p.max_iter + 1):
        l1 = torch.log1p(-log_pi.exp())[:, None] + logp_t
        l2 = log_pi[:, None] + logpdf(u, mu_2, chol_2)
        ll = torch.logaddexp(l1, l2).mean(-1)
        done |= ((ll - prev).abs() < p.tol) | (n_iter >= p.max_iter)
        if done.all():
            break
        prev = torch.where(done, prev, ll)
        r = torch.sigmoid(l2 - l1)  # [L, u]
        w = r.sum(-1).clamp_min(1e-300)  # [L]
        new_mu = (r[:, :, None] * u).sum(1, keepdim=True) / w[:, None, None]
        uc = u - new_mu
        s2 = (r[:, :, None] * uc).transpose(1, 2) @ uc / w[:, None, None]
        new_pi = (w / u.shape[1]).clamp(1e-12, 1 - 1e-12).log()
        new_chol = cholesky(shrink_to(s2, delta_u, p.ridge))
        keep = done[:, None, None]
        mu_2 = torch.where(keep, mu_2, new_mu)
        chol_2 = torch.where(keep, chol_2, new_chol)
        log_pi = torch.where(done, log_pi, new_pi)
        n_iter = n_iter + (~done).long()
    return EMFit(mu_t, chol_t, mu_2, chol_2, log_pi, n_iter)


def gaussian_em_all_layers(trusted, untrusted, test, params: GaussianEMParams, device=None):
    """Scores `[L, m]` of `test` `[L, m, d]`; trusted `[L, n, d]`, untrusted `[L, u, d]`."""
    from quirkymad.detectors.batched import default_device

    device = device or default_device()
    fit = fit_em(trusted.to(device, torch.float64), untrusted.to(device, torch.float64), params)
    return fit.log_odds(test.to(device, torch.float64)).cpu()


@register_detector
class GaussianEM(Detector):
    name = "gaussian_em"
    Params = GaussianEMParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> GaussianEM:
        u = None if untrusted is None else torch.as_tensor(untrusted, dtype=torch.float64)[None]
        t = torch.as_tensor(trusted, dtype=torch.float64)[None]
        self.fitted = fit_em(t, u, self.params)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.fitted.log_odds(torch.as_tensor(x, dtype=torch.float64)[None])[0].numpy()

    def score_all_layers(self, trusted, test, untrusted=None):
        if untrusted is None:
            raise ValueError("this detector is offline: it needs at least 2 untrusted examples")
        return gaussian_em_all_layers(trusted, untrusted, test, self.params)
