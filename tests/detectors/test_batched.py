import numpy as np
import torch

from quirkymad.detectors import make_detector
from quirkymad.detectors.batched import mahalanobis_all_layers


def test_batched_mahalanobis_matches_per_layer_detector():
    rng = np.random.default_rng(0)
    trusted = rng.standard_normal((3, 200, 16)) @ rng.standard_normal((16, 16))
    test = rng.standard_normal((3, 50, 16)) * 2
    got = mahalanobis_all_layers(
        torch.from_numpy(trusted), torch.from_numpy(test), 1e-3, torch.device("cpu")
    ).numpy()
    for layer in range(3):
        det = make_detector("mahalanobis", {"rcond": 1e-3}).fit(trusted[layer])
        ref = det.score(test[layer])
        np.testing.assert_allclose(got[layer], ref, rtol=1e-4)
    assert got.shape == (3, 50) and (got > 0).all()


def _layers(seed=1, n=200, m=50, d=16, L=3):
    rng = np.random.default_rng(seed)
    trusted = rng.standard_normal((L, n, d)) @ rng.standard_normal((d, d))
    untrusted = rng.standard_normal((L, 80, d)) @ rng.standard_normal((d, d)) + 0.5
    test = rng.standard_normal((L, m, d)) * 2
    trusted[:, :, 0] = 3.0  # a constant dimension: exercises the std clamp / eigen cut-off
    return trusted, untrusted, test


def test_batched_diag_mahalanobis_matches_per_layer_detector():
    from quirkymad.detectors.batched import diag_mahalanobis_all_layers

    trusted, _, test = _layers()
    got = diag_mahalanobis_all_layers(
        torch.from_numpy(trusted), torch.from_numpy(test), 1e-8, torch.device("cpu")
    ).numpy()
    for layer in range(3):
        ref = make_detector("diag_mahalanobis").fit(trusted[layer]).score(test[layer])
        np.testing.assert_allclose(got[layer], ref, rtol=1e-4)
    assert got.shape == (3, 50)


def test_batched_que_matches_per_layer_detector():
    from quirkymad.detectors.batched import que_all_layers

    trusted, untrusted, test = _layers()
    got = que_all_layers(*map(torch.from_numpy, (trusted, untrusted, test)), alpha=4.0,
                         rcond=1e-3, device=torch.device("cpu")).numpy()  # fmt: skip
    for layer in range(3):
        det = make_detector("que", {"alpha": 4.0}).fit(trusted[layer], untrusted[layer])
        np.testing.assert_allclose(got[layer], det.score(test[layer]), rtol=1e-4)
    assert got.shape == (3, 50) and (got > 0).all()
