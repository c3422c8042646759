"""Each detector against an independent numpy / scipy / scikit-learn computation (1e-4 rel)."""

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import spearmanr
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor

from quirkymad.detectors import make_detector


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    d = 24
    mix = rng.normal(size=(d, d))
    trusted = rng.normal(size=(300, d)) @ mix
    untrusted = np.concatenate([rng.normal(size=(80, d)) @ mix, rng.normal(size=(80, d)) @ mix + 2])
    test = np.concatenate([rng.normal(size=(50, d)) @ mix, rng.normal(size=(50, d)) @ mix + 2])
    return trusted, untrusted, test


def test_diag_mahalanobis(data):
    trusted, _, test = data
    mu, sd = trusted.mean(0), np.maximum(trusted.std(0), 1e-8)
    want = (((test - mu) / sd) ** 2).mean(1)
    got = make_detector("diag_mahalanobis", {}).fit(trusted).score(test)
    np.testing.assert_allclose(got, want, rtol=1e-4)


def _lof_reference(trusted, test, k):
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)) + 1e-4

    dt = dist(trusted, trusted)
    np.fill_diagonal(dt, np.inf)
    kdist = np.sort(dt, axis=1)[:, k - 1]
    dq = dist(test, trusted)
    nn = np.argsort(dq, axis=1)[:, :k]
    own = np.sort(dq, axis=1)[:, k - 1]
    return np.array([np.mean(own[i] / kdist[nn[i]]) for i in range(len(test))])


def test_lof_matches_the_cupbearer_formula_and_ranks_like_sklearn(data):
    trusted, _, test = data
    got = make_detector("lof", {"k": 20}).fit(trusted).score(test)
    np.testing.assert_allclose(got, _lof_reference(trusted, test, 20), rtol=1e-4)
    sk = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(trusted)
    # Different reachability convention (C9): same ranking up to noise, not the same values.
    assert spearmanr(got, -sk.score_samples(test)).statistic > 0.9


def test_isolation_forest_is_sklearns(data):
    trusted, _, test = data
    got = (
        make_detector("isolation_forest", {"n_estimators": 20, "seed": 3}).fit(trusted).score(test)
    )
    sk = IsolationForest(n_estimators=20, random_state=3).fit(trusted.astype(np.float32))
    np.testing.assert_allclose(got, -sk.decision_function(test.astype(np.float32)), rtol=1e-4)


def _que_reference(trusted, untrusted, test, alpha, rcond):
    mu = trusted.mean(0)
    lam, vec = np.linalg.eigh(np.cov(trusted, rowvar=False))
    scale = np.where(lam >= rcond * lam.max(), 1 / np.sqrt(np.maximum(lam, 1e-300)), 0.0)
    w = vec * scale
    c = w.T @ np.cov(untrusted, rowvar=False) @ w
    weight = scipy.linalg.expm(alpha * c / np.linalg.eigvalsh(c).max())
    z = (test - mu) @ w
    return np.einsum("md,de,me->m", z, weight, z)


def test_que_matches_numpy_scipy(data):
    trusted, untrusted, test = data
    got = make_detector("que", {"alpha": 4, "rcond": 1e-3}).fit(trusted, untrusted).score(test)
    np.testing.assert_allclose(got, _que_reference(trusted, untrusted, test, 4, 1e-3), rtol=1e-4)


def test_que_is_offline_and_needs_untrusted(data):
    trusted, _, _ = data
    det = make_detector("que", {})
    assert det.offline
    with pytest.raises(ValueError, match="needs at least 2 untrusted"):
        det.fit(trusted)
    with pytest.raises(Exception, match="untrusted must be"):
        make_detector("que", {"untrusted": "all"})


@pytest.mark.parametrize(
    "name",
    [
        "mahalanobis",
        "diag_mahalanobis",
        "lof",
        "isolation_forest",
        "que",
        "pca_mahalanobis",
        "likelihood_ratio",
        "gaussian_em",
    ],
)
def test_every_detector_separates_a_shift(name):
    from quirkymad.stats.metrics import auroc

    rng = np.random.default_rng(1)
    trusted = rng.normal(size=(300, 8))
    test = np.concatenate([rng.normal(size=(50, 8)), rng.normal(size=(50, 8)) + 1.5])
    s = make_detector(name, {}).fit(trusted, test).score(test)
    assert auroc(np.r_[np.zeros(50), np.ones(50)], s) > 0.9
