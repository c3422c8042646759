"""PCA-Mahalanobis, likelihood ratio and 2-Gaussian EM against independent numpy / scipy /
scikit-learn computations (1e-6 rel), and their batched all-layer paths against per-layer."""

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from quirkymad.detectors import make_detector
from quirkymad.errors import QuirkyError


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
