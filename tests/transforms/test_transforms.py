import math

import numpy as np
import pytest
import torch

from quirkymad.transforms import TRANSFORMS
from quirkymad.transforms.flow import FlowParams
from quirkymad.transforms.sae import SAEParams


def _data(n=400, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g) + 3


def test_sae_topk_sparsity_reconstruction_and_l0_novelty():
    x = _data()
    sae = TRANSFORMS["sae"].fit(x, SAEParams(expansion=4, k=4, steps=180, batch_size=64))
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
    untrained = TRANSFORMS["flow"].fit(x, FlowParams(steps=0, hidden=16))
    flow = TRANSFORMS["flow"].fit(x, FlowParams(steps=90, hidden=16, batch_size=64))
    with torch.no_grad():
        u = flow(x)
        lp = flow.prior_log_prob(x)
        assert torch.allclose(lp, -u.abs().sum(1) - 8 * math.log(2), atol=1e-5)
        assert flow.log_prob(x).mean() > untrained.log_prob(x).mean()
        far = flow.prior_log_prob(x[:20] * 50)
        assert far.mean() < lp.mean()  # far-out inputs get lower prior density


def test_train_steps_counts_updates_across_epochs():
    from quirkymad.transforms.base import train_steps

    calls = []
    module = torch.nn.Linear(2, 1)

    def loss(m, xb):
        calls.append(len(xb))
        return m(xb).pow(2).mean()

    train_steps(module, torch.randn(10, 2), loss, steps=7, batch_size=4, lr=1e-2, seed=0)
    assert calls == [4, 4, 2, 4, 4, 2, 4]  # 10 rows = 3 batches per epoch, 7 updates in all


def test_flow_prior_detector_is_minus_laplace_log_density_of_flow_outputs():
    from quirkymad.detectors import make_detector

    x = _data()
    flow = TRANSFORMS["flow"].fit(x, FlowParams(steps=30, hidden=16, batch_size=64))
    u = TRANSFORMS["flow"].apply(flow, x)
    det = make_detector("flow_prior").fit(u.numpy())
    with torch.no_grad():
        expected = -flow.prior_log_prob(x).double().numpy()
    np.testing.assert_allclose(det.score(u.numpy()), expected, rtol=1e-5)


def test_sae_l0_detector_uses_the_transforms_fired_latents():
    from quirkymad.detectors import make_detector

    x = _data()
    sae = TRANSFORMS["sae"].fit(x[:200], SAEParams(expansion=4, k=4, steps=30, batch_size=64))
    z = TRANSFORMS["sae"].apply(sae, x).numpy()
    det = make_detector("sae_l0")
    det.use_transform(sae)
    det.fit(z[200:])  # A comes from the SAE's own training rows, not from these
    np.testing.assert_array_equal(det.score(z), sae.l0_novelty(x).double().numpy())
    plain = make_detector("sae_l0").fit(z[:200])  # no module: A = latents fired on `fit` data
    assert (plain.score(z[:200]) == 0).all()


@pytest.mark.parametrize("name", ["flow", "sae"])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, name):
    from quirkymad.transforms.io import load_transform, save_transform

    kind = TRANSFORMS[name]
    params = kind.Params(steps=20, batch_size=64, seed=3)
    x = {4: _data(seed=1), 7: _data(seed=2)}
    modules = {ell: kind.fit(v, params) for ell, v in x.items()}
    save_transform(tmp_path / "t", kind, params, modules, d=8, info={"n_train": 400})
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "quirkymad-files.json", "transform.json", "weights.safetensors",
    ]  # fmt: skip
    loaded_kind, loaded, meta = load_transform(tmp_path / "t")
    assert loaded_kind is kind and sorted(loaded) == [4, 7]
    assert meta["params"]["seed"] == 3 and meta["d"] == 8 and meta["n_train"] == 400
    for ell, v in x.items():
        torch.testing.assert_close(kind.apply(loaded[ell], v), kind.apply(modules[ell], v))
    if name == "sae":
        assert torch.equal(loaded[4].fired, modules[4].fired)
