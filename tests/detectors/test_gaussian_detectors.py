"""PCA-Mahalanobis, likelihood ratio and 2-Gaussian EM against independent numpy / scipy /
scikit-learn computations (1e-6 rel), and their batched all-layer paths against per-layer."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from quirkymad.core.errors import QuirkyError
from quirkymad.detectors import make_detector


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    d = 24
    mix = rng.normal(size=(d, d)) * np.linspace(0.1, 3, d)  # spread eigenvalues
    trusted = rng.normal(size=(300, d)) @ mix
    untrusted = np.concatenate([rng.normal(size=(80, d)) @ mix, rng.normal(size=(80, d)) @ mix + 2])
    test = np.concatenate([rng.normal(size=(50, d)) @ mix, rng.normal(size=(50, d)) @ mix + 2])
    return trusted, untrusted, test


def _layers(seed=1, n=40, m=30, d=16, L=3):
    """Few trusted records per layer (n < d would also do): exercises the rank cap."""
    rng = np.random.default_rng(seed)
    trusted = rng.standard_normal((L, n, d)) @ rng.standard_normal((d, d))
    untrusted = rng.standard_normal((L, 50, d)) @ rng.standard_normal((d, d)) + 0.5
    test = rng.standard_normal((L, m, d)) * 2
    trusted[:, :, 0] = 3.0  # a constant dimension
    return trusted, untrusted, test


# --- PCA-Mahalanobis ---------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 5, 10, 24])
def test_pca_mahalanobis_is_sklearn_whitened_pca(data, k):
    trusted, _, test = data
    pca = PCA(n_components=k, whiten=True, svd_solver="full").fit(trusted)
    want = (pca.transform(test) ** 2).mean(1)
    got = make_detector("pca_mahalanobis", {"n_components": k}).fit(trusted).score(test)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("frac", [0.5, 0.9, 0.99])
def test_pca_mahalanobis_variance_fraction_picks_sklearns_count(data, frac):
    trusted, _, test = data
    pca = PCA(n_components=frac, whiten=True, svd_solver="full").fit(trusted)
    det = make_detector("pca_mahalanobis", {"n_components": frac}).fit(trusted)
    assert det.k == pca.n_components_
    np.testing.assert_allclose(det.score(test), (pca.transform(test) ** 2).mean(1), rtol=1e-6)


def test_pca_mahalanobis_all_components_is_mahalanobis(data):
    """With every component kept (full rank), s_pca = s_mahalanobis (both ÷d)."""
    trusted, _, test = data
    full = make_detector("pca_mahalanobis", {"n_components": 24}).fit(trusted).score(test)
    maha = make_detector("mahalanobis", {"rcond": 1e-12}).fit(trusted).score(test)
    np.testing.assert_allclose(full, maha, rtol=1e-6)


def test_pca_mahalanobis_caps_k_at_the_rank():
    rng = np.random.default_rng(2)
    trusted, test = rng.normal(size=(6, 20)), rng.normal(size=(5, 20))
    det = make_detector("pca_mahalanobis", {"n_components": 10}).fit(trusted)
    assert det.k == 5  # n − 1 nonzero eigenvalues
    assert np.isfinite(det.score(test)).all()


@pytest.mark.parametrize("bad", [0, -1, 1.5, 2.5])
def test_pca_mahalanobis_rejects_bad_counts(bad):
    with pytest.raises(QuirkyError, match="n_components"):
        make_detector("pca_mahalanobis", {"n_components": bad})


@pytest.mark.parametrize("k", [3, 0.8])
def test_batched_pca_mahalanobis_matches_per_layer(k):
    from quirkymad.detectors.batched import pca_mahalanobis_all_layers

    trusted, _, test = _layers()
    got = pca_mahalanobis_all_layers(
        torch.from_numpy(trusted), torch.from_numpy(test), k, torch.device("cpu")
    ).numpy()
    for layer in range(3):
        det = make_detector("pca_mahalanobis", {"n_components": k}).fit(trusted[layer])
        np.testing.assert_allclose(got[layer], det.score(test[layer]), rtol=1e-6)
    assert got.shape == (3, 30)


# --- Ledoit–Wolf, likelihood ratio, 2-Gaussian EM ----------------------------------------


def _lw(x, ridge):
    """Reference shrunk Gaussian: scikit-learn's Ledoit–Wolf plus the documented ridge."""
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(x)
    m = np.trace(np.cov(x, rowvar=False, bias=True)) / x.shape[1]
    return lw.location_, lw.covariance_ + ridge * m * np.eye(x.shape[1]), lw.shrinkage_


@pytest.mark.parametrize("n", [5, 40, 300])  # n < d, n ≈ d, n > d
def test_ledoit_wolf_is_sklearns(n):
    from quirkymad.detectors.gaussian import ledoit_wolf

    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 24)) @ rng.normal(size=(24, 24))
    mu, cov, shrink = ledoit_wolf(torch.from_numpy(x)[None], ridge=1e-6)
    want_mu, want_cov, want_shrink = _lw(x, 1e-6)
    np.testing.assert_allclose(mu[0, 0].numpy(), want_mu, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(cov[0].numpy(), want_cov, rtol=1e-6, atol=1e-10)
    assert shrink[0].item() == pytest.approx(want_shrink, rel=1e-6)


def test_likelihood_ratio_is_a_difference_of_scipy_logpdfs(data):
    from scipy.stats import multivariate_normal as mvn

    trusted, untrusted, test = data
    mu_t, cov_t, _ = _lw(trusted, 1e-6)
    mu_u, cov_u, _ = _lw(untrusted, 1e-6)
    want = mvn.logpdf(test, mu_u, cov_u) - mvn.logpdf(test, mu_t, cov_t)
    got = make_detector("likelihood_ratio", {}).fit(trusted, untrusted).score(test)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def _em_reference(trusted, untrusted, test, max_iter=100, tol=1e-3, ridge=1e-6):
    """The EM of gaussian_em.py's docstring, in numpy / scipy, one layer."""
    from scipy.special import expit, logsumexp
    from scipy.stats import multivariate_normal as mvn

    d = untrusted.shape[1]
    mu_t, cov_t, _ = _lw(trusted, ridge)
    mu2, cov2, delta = _lw(untrusted, ridge)
    pi, prev, it = 0.5, -np.inf, 0
    logp_t = mvn.logpdf(untrusted, mu_t, cov_t)
    while True:
        l1 = np.log1p(-pi) + logp_t
        l2 = np.log(pi) + mvn.logpdf(untrusted, mu2, cov2)
        ll = logsumexp(np.stack([l1, l2]), axis=0).mean()
        if abs(ll - prev) < tol or it >= max_iter:
            break
        prev, it = ll, it + 1
        r = expit(l2 - l1)
        mu2 = (r[:, None] * untrusted).sum(0) / r.sum()
        s2 = np.cov(untrusted, rowvar=False, aweights=r, bias=True)
        m = np.trace(s2) / d
        cov2 = (1 - delta) * s2 + (delta + ridge) * m * np.eye(d)
        pi = r.mean()
    score = np.log(pi) + mvn.logpdf(test, mu2, cov2) - np.log1p(-pi) - mvn.logpdf(test, mu_t, cov_t)
    return score, it


@pytest.mark.parametrize("max_iter", [1, 3, 100])
def test_gaussian_em_matches_a_numpy_scipy_em(data, max_iter):
    trusted, untrusted, test = data
    want, iters = _em_reference(trusted, untrusted, test, max_iter=max_iter)
    det = make_detector("gaussian_em", {"max_iter": max_iter}).fit(trusted, untrusted)
    assert int(det.fitted.n_iter[0]) == iters
    np.testing.assert_allclose(det.score(test), want, rtol=1e-6)
    if max_iter == 100:
        assert 1 < iters < 100  # converged by tol, after some real EM steps


def test_gaussian_em_posterior_finds_the_shifted_half(data):
    """The free component takes the shifted half of U: its weight ≈ 1/2, and the posterior
    log-odds separate the test mix's halves."""
    from quirkymad.stats.metrics import auroc

    trusted, untrusted, test = data
    det = make_detector("gaussian_em", {}).fit(trusted, untrusted)
    assert 0.3 < float(det.fitted.log_pi[0].exp()) < 0.7
    assert auroc(np.r_[np.zeros(50), np.ones(50)], det.score(test)) > 0.9


@pytest.mark.parametrize("name", ["likelihood_ratio", "gaussian_em"])
def test_offline_gaussians_need_untrusted_and_check_params(data, name):
    trusted, _, _ = data
    det = make_detector(name, {})
    assert det.offline
    with pytest.raises(ValueError, match="needs at least 2 untrusted"):
        det.fit(trusted)
    with pytest.raises(QuirkyError, match="untrusted must be"):
        make_detector(name, {"untrusted": "all"})
    with pytest.raises(QuirkyError, match="ridge"):
        make_detector(name, {"ridge": -1.0})


@pytest.mark.parametrize("name", ["likelihood_ratio", "gaussian_em"])
def test_batched_offline_gaussians_match_per_layer(name):
    trusted, untrusted, test = _layers()
    det = make_detector(name, {})
    got = det.score_all_layers(*map(torch.from_numpy, (trusted, test, untrusted))).numpy()
    for layer in range(3):
        ref = make_detector(name, {}).fit(trusted[layer], untrusted[layer]).score(test[layer])
        np.testing.assert_allclose(got[layer], ref, rtol=1e-6)
    assert got.shape == (3, 30) and np.isfinite(got).all()


@pytest.mark.parametrize("name", ["likelihood_ratio", "gaussian_em"])
def test_offline_gaussians_survive_constant_and_rank_deficient_layers(name):
    """n < d, a constant dimension, and a layer with no variance at all: finite scores."""
    rng = np.random.default_rng(3)
    trusted, untrusted, test = (rng.normal(size=(k, 40)) for k in (15, 12, 10))
    trusted[:, 0] = untrusted[:, 0] = 1.0
    got = make_detector(name, {}).fit(trusted, untrusted).score(test)
    assert np.isfinite(got).all()
    flat = make_detector(name, {}).fit(np.ones((15, 40)), np.ones((12, 40))).score(test)
    assert np.isfinite(flat).all()
