import numpy as np
import pytest

from quirkymad.core.errors import QuirkyError
from quirkymad.detectors import DETECTORS, make_detector
from quirkymad.stats.metrics import auroc, bootstrap_ci


def _reference_mahalanobis(train, test, rcond):
    mu = train.mean(0)
    cov = np.cov(train, rowvar=False, ddof=1)
    w, v = np.linalg.eigh(cov)
    keep = w > rcond * w.max()
    prec = (v[:, keep] / w[keep]) @ v[:, keep].T
    xc = test - mu
    return np.einsum("md,de,me->m", xc, prec, xc) / train.shape[1]


@pytest.mark.parametrize("n", [30, 500])  # fewer and more samples than dimensions
def test_mahalanobis_matches_numpy_reference(n):
    rng = np.random.default_rng(0)
    d = 64
    a = rng.normal(size=(d, d))
    train = rng.normal(size=(n, d)) @ a + 3
    test = rng.normal(size=(40, d)) @ a + 3
    got = make_detector("mahalanobis", {"rcond": 1e-3}).fit(train).score(test)
    np.testing.assert_allclose(got, _reference_mahalanobis(train, test, 1e-3), rtol=1e-4)


def test_mahalanobis_flags_a_shifted_distribution():
    rng = np.random.default_rng(1)
    det = make_detector("mahalanobis", {}).fit(rng.normal(size=(400, 8)))
    normal, shifted = rng.normal(size=(200, 8)), rng.normal(size=(200, 8)) + 1.5
    s = det.score(np.concatenate([normal, shifted]))
    assert auroc(np.r_[np.zeros(200), np.ones(200)], s) > 0.95


def test_bad_hyperparameters_name_the_key():
    with pytest.raises(
        QuirkyError, match=r"detectors.mahalanobis: unknown setting\(s\) \['rcondd'\]"
    ):
        make_detector("mahalanobis", {"rcondd": 1})
    with pytest.raises(QuirkyError, match="rcond must be > 0"):
        make_detector("mahalanobis", {"rcond": -1})
    with pytest.raises(QuirkyError, match="unknown detector 'nope'"):
        make_detector("nope")
    assert "mahalanobis" in DETECTORS


def test_bootstrap_ci_brackets_the_auroc():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(150), np.ones(150)].astype(bool)
    s = rng.normal(size=300) + y * 0.8
    lo, hi = bootstrap_ci(y, s, n_boot=300, seed=0)
    a = auroc(y, s)
    assert a == pytest.approx(roc_auc_score(y, s))
    assert lo < a < hi and 0 < hi - lo < 0.25
    assert np.isnan(auroc(np.ones(3, bool), np.arange(3)))
