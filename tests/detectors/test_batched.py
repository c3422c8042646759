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
