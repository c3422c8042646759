import math

import torch

from quirkymad.transforms import TRANSFORMS
from quirkymad.transforms.flow import FlowParams
from quirkymad.transforms.sae import SAEParams


def _data(n=400, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g) + 3


def test_sae_topk_sparsity_reconstruction_and_l0_novelty():
    x = _data()
    sae = TRANSFORMS["sae"](x, SAEParams(expansion=4, k=4, epochs=30, batch_size=64))
    z = sae.encode(x)
    assert z.shape == (400, 32)
    assert ((z > 0).sum(1) <= 4).all() and (z >= 0).all()
    with torch.no_grad():
        mse = (sae(x) - x).pow(2).sum(1).mean()
    assert mse < x.var(0).sum()  # beats predicting the mean
    assert (sae.l0_novelty(x) == 0).all()  # by construction, every active latent fired
    sae.fired.zero_()
    assert (sae.l0_novelty(x) == (z > 0).sum(1)).all()


def test_flow_prior_density_formula_and_training_improves_likelihood():
    x = _data()
    untrained = TRANSFORMS["flow"](x, FlowParams(epochs=0, hidden=16))
    flow = TRANSFORMS["flow"](x, FlowParams(epochs=15, hidden=16, batch_size=64))
    with torch.no_grad():
        u = flow(x)
        lp = flow.prior_log_prob(x)
        assert torch.allclose(lp, -u.abs().sum(1) - 8 * math.log(2), atol=1e-5)
        assert flow.log_prob(x).mean() > untrained.log_prob(x).mean()
        far = flow.prior_log_prob(x[:20] * 50)
        assert far.mean() < lp.mean()  # far-out inputs get lower prior density


def test_flow_prior_and_sae_l0_detectors_flag_far_points():
    from quirkymad.detectors import make_detector

    x = _data().numpy()
    far = x[:20] * 30
    flow = make_detector("flow_prior", {"epochs": 5, "hidden": 16, "batch_size": 64}).fit(x)
    assert flow.score(far).mean() > flow.score(x).mean()
    sae = make_detector("sae_l0", {"expansion": 4, "k": 4, "epochs": 5, "batch_size": 64})
    sae.fit(x)
    assert (sae.score(x) == 0).all() and sae.score(far).shape == (20,)
