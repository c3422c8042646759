import numpy as np
import pytest

from quirkymad.analysis.separation import (
    geometric_mean,
    hidden_separation,
    logit_quantities,
    r_squared,
)


def test_hidden_separation_matches_direct_numpy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 16)) + 0.5
    b = rng.normal(size=(200, 16)) * 2
    s, r = hidden_separation(a, b)
    pooled = np.vstack([a, b])
    cov = np.cov(pooled, rowvar=False, ddof=0)
    assert s == pytest.approx(np.sum((a.mean(0) - b.mean(0)) ** 2) / np.trace(cov), rel=1e-10)
    within = (300 * np.trace(np.cov(a, rowvar=False, ddof=0))
              + 200 * np.trace(np.cov(b, rowvar=False, ddof=0))) / 500  # fmt: skip
    assert r == pytest.approx((np.trace(cov) - within) / np.trace(cov), rel=1e-10)


def test_ratio_is_a_quarter_of_s_at_50_50():
    rng = np.random.default_rng(1)
    s, r = hidden_separation(rng.normal(size=(100, 4)), rng.normal(size=(100, 4)) + 1)
    assert r == pytest.approx(s / 4, rel=1e-12)


def test_logit_quantities():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 1.0])
    q = logit_quantities(a, b)
    assert q["ab_logit_separation"] == pytest.approx(4.0)
    assert q["logit_variance"] == pytest.approx(np.var(np.r_[a, b]))
    assert q["logit_separation"] == pytest.approx(4.0 / np.var(np.r_[a, b]))


def test_r_squared_and_geometric_mean():
    rng = np.random.default_rng(2)
    x = rng.normal(size=50)
    y = 2 * x + rng.normal(size=50)
    assert r_squared(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2)
    from scipy.stats import linregress

    assert r_squared(x, y) == pytest.approx(linregress(x, y).rvalue ** 2)
    assert np.isnan(r_squared(x, np.full(50, 3.0)))
    assert np.isnan(r_squared(x[:2], y[:2]))
    assert geometric_mean(np.array([1.0, 100.0])) == pytest.approx(10.0)
    assert np.isnan(geometric_mean(np.array([1.0, 0.0])))
