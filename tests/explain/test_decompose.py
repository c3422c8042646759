"""Exact score splits (quirkymad/explain/decompose.py): contributions sum to the detectors'
own scores, and a planted anomalous direction is the one that carries the excess score."""

import numpy as np
import pytest

from quirkymad.detectors import make_detector
from quirkymad.explain import decompose as dec
from quirkymad.explain import interpret as it

RTOL = 1e-6


def planted(d=24, n=400, m=100, seed=0, low_var=0.01, shift=1.0):
    """Trusted records vary in every direction but barely along a random unit `u`;
    anomalous test records are shifted along `u`. Returns trusted, test, is_anomalous, u."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    scales = rng.uniform(0.5, 2.0, d)

    def draw(k):
        z = rng.standard_normal((k, d)) * scales
        return z - np.outer(z @ u, u) * (1 - np.sqrt(low_var))  # shrink the u component

    trusted = draw(n)
    test = draw(2 * m)
    is_anom = np.arange(2 * m) >= m
    test[is_anom] += shift * u
    return trusted, test, is_anom, u


def _top_excess_direction(parts, test, is_anom):
    per, _ = it.excess(parts.contributions, is_anom)
    return parts.write[int(np.argmax(per))]


@pytest.mark.parametrize("seed", [0, 1])
def test_mahalanobis_sums_to_the_detector_and_finds_the_planted_direction(seed):
    trusted, test, is_anom, u = planted(seed=seed)
    det = make_detector("mahalanobis", {"rcond": 1e-3}).fit(trusted)
    parts = dec.mahalanobis_parts(trusted, test, rcond=1e-3)
    np.testing.assert_allclose(parts.contributions.sum(1), det.score(test), rtol=RTOL)
    assert (parts.contributions >= 0).all()
    assert abs(_top_excess_direction(parts, test, is_anom) @ u) > 0.9


def test_mahalanobis_with_a_cut_off_matches_the_pseudo_inverse():
    rng = np.random.default_rng(3)
    trusted = rng.standard_normal((30, 50))  # n < d: the covariance is singular
    test = rng.standard_normal((20, 50))
    for rcond in (1e-3, 0.2):
        det = make_detector("mahalanobis", {"rcond": rcond}).fit(trusted)
        parts = dec.mahalanobis_parts(trusted, test, rcond=rcond)
        np.testing.assert_allclose(parts.contributions.sum(1), det.score(test), rtol=RTOL)
        assert parts.contributions.shape[1] < 30


def test_column_split_of_mahalanobis_is_exact():
    trusted, test, is_anom, _ = planted(d=8)
    det = make_detector("mahalanobis", {}).fit(trusted)
    parts = dec.mahalanobis_column_parts(trusted, test)
    np.testing.assert_allclose(parts.contributions.sum(1), det.score(test), rtol=RTOL)


def test_diag_mahalanobis_sums_and_finds_the_planted_coordinate():
    rng = np.random.default_rng(5)
    trusted = rng.standard_normal((300, 16)) * rng.uniform(0.5, 2, 16)
    test = rng.standard_normal((100, 16))
    is_anom = np.arange(100) >= 50
    test[is_anom, 7] += 4.0  # a latent that fires only on Bob
    det = make_detector("diag_mahalanobis", {}).fit(trusted)
    parts = dec.diag_mahalanobis_parts(trusted, test)
    np.testing.assert_allclose(parts.contributions.sum(1), det.score(test), rtol=RTOL)
    assert np.argmax(_top_excess_direction(parts, test, is_anom)) == 7


@pytest.mark.parametrize("n_trusted", [400, 15])  # 15 < d: whitening drops directions
def test_que_sums_to_the_detector_and_finds_the_planted_direction(n_trusted):
    rng = np.random.default_rng(7)
    d, m = 20, 200
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    trusted = rng.standard_normal((n_trusted, d))
    test = rng.standard_normal((m, d))
    is_anom = np.arange(m) >= m // 2
    test[is_anom] += np.outer(rng.choice([-3.0, 3.0], is_anom.sum()), u)
    det = make_detector("que", {"alpha": 4}).fit(trusted, test)
    parts = dec.que_parts(trusted, test, test, alpha=4)
    np.testing.assert_allclose(parts.contributions.sum(1), det.score(test), rtol=RTOL)
    if n_trusted > d:
        assert abs(_top_excess_direction(parts, test, is_anom) @ u) > 0.9


def test_layer_parts_sum_to_the_mean():
    s = np.random.default_rng(0).random((5, 9))
    np.testing.assert_allclose(dec.layer_parts(s).sum(1), s.mean(0), rtol=1e-12)


def test_logit_lens_ranks_tokens_by_the_projected_logit():
    # 4 tokens over d = 2: logits of direction (1, 0) are 3, -1, 0.5, -2 (× gain 2).
    unembed = np.array([[3.0, 0.0], [-1.0, 5.0], [0.5, 0.0], [-2.0, 1.0]])
    up, down, yes_no = it.logit_lens(
        np.array([[4.0, 0.0]]), unembed, np.array([2.0, 1.0]), str, (1, 0), 2
    )
    assert up == [["0", "2"]] and down == [["3", "1"]]
    assert yes_no[0] == pytest.approx(2 * 3.0 - 2 * -1.0)
