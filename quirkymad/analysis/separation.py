"""Hidden-state and logit separation of Alice and Bob (follow-up study, Figs. 11–14; spec §7).

All quantities are computed on the hard test mix (roles `test_normal` = Alice,
`test_anomalous` = Bob) of one (model, dataset).
"""

from __future__ import annotations

import numpy as np


def hidden_separation(x_alice: np.ndarray, x_bob: np.ndarray) -> tuple[float, float]:
    """(S, R) for one layer; `x_alice` `[n_A, d]`, `x_bob` `[n_B, d]`.

    S = ‖μ_A − μ_B‖² / Tr Σ, with Σ the covariance of the pooled test points [B2];
    R = (Tr Σ − (n_A Tr Σ_A + n_B Tr Σ_B) / n) / Tr Σ, the between/total variance ratio that
    cupbearer's `analysis/helpers.py` plots (≈ S/4 at 50/50; conflict C5: we report both).
    Traces use the population (÷n) convention so that the decomposition is exact.
    """
    a = np.asarray(x_alice, dtype=np.float64)
    b = np.asarray(x_bob, dtype=np.float64)
    pooled = np.concatenate([a, b])
    tr = pooled.var(axis=0).sum()
    if tr == 0:
        return float("nan"), float("nan")
    s = float(((a.mean(0) - b.mean(0)) ** 2).sum() / tr)
    n = len(pooled)
    within = (len(a) * a.var(axis=0).sum() + len(b) * b.var(axis=0).sum()) / n
    return s, float((tr - within) / tr)


def geometric_mean(values: np.ndarray) -> float:
    """Layer average of S (cupbearer averages separations geometrically); NaN if any ≤ 0."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0 or (v <= 0).any() or np.isnan(v).any():
        return float("nan")
    return float(np.exp(np.log(v).mean()))


def logit_quantities(log_odds_alice: np.ndarray, log_odds_bob: np.ndarray) -> dict[str, float]:
    """Logit-space quantities on ℓ = logit(" Yes") − logit(" No") (spec §7, "definitions
    unverified: compute all"): `logit_separation` = S applied to ℓ (1-D), `logit_variance` =
    Var(ℓ) over the pooled test mix, `ab_logit_separation` = (mean_A ℓ − mean_B ℓ)²."""
    a = np.asarray(log_odds_alice, dtype=np.float64)
    b = np.asarray(log_odds_bob, dtype=np.float64)
    s, _ = hidden_separation(a[:, None], b[:, None])
    return {
        "logit_separation": s,
        "logit_variance": float(np.concatenate([a, b]).var()),
        "ab_logit_separation": float((a.mean() - b.mean()) ** 2),
    }


def r_squared(x: np.ndarray, y: np.ndarray) -> float:
    """R² of the OLS fit y ~ x (= Pearson r²); NaN if either is constant or < 3 points."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1] ** 2)
