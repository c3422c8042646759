"""Probe shift equals an explicit per-probe, per-example autograd computation; probes fit."""

import numpy as np
import pytest
import torch

from quirkymad.core.errors import QuirkyError
from quirkymad.core.prompts import answer_token_ids, render_prompt
from quirkymad.features.attribution import attribution_effects, n_heads, o_proj_last_token
from quirkymad.features.probe_shift import L2_GRID, assemble, fit_probe
from quirkymad.models.tiny import build_tiny_model

PROMPTS = [
    render_prompt("Alice", "12 + 30 = 42."),
    render_prompt("Bob", "7 + 5 = 13."),
    render_prompt("Veronica", "1000 + 2345 = 3345."),
    render_prompt("Nina", "3 + 4 = 7."),
]


@pytest.fixture(scope="module")
def tiny3():
    model, tok = build_tiny_model(n_layers=3, d_model=64, seed=0)
    return model.double().eval(), tok


def _explicit(model, tok, prompt, layers, mean, probes):
    """For one prompt (no batching, no padding): {p: feature_p} from plain hooks + autograd."""
    heads = n_heads(model)
    blocks = model.model.layers
    ins, outs = {}, {}
    handles = []
    for ell in layers:
        o_proj = blocks[ell - 1].self_attn.o_proj

        def pre(module, args, ell=ell):
            x = args[0] if ins else args[0].detach().requires_grad_(True)
            ins[ell] = x
            return (x,)

        def post(module, args, output, ell=ell):
            outs[ell] = output

        handles += [o_proj.register_forward_pre_hook(pre), o_proj.register_forward_hook(post)]
    try:
        logits = model(**tok(prompt, return_tensors="pt")).logits[0, -1]
    finally:
        for h in handles:
            h.remove()
    no_id, yes_id = answer_token_ids(tok)
    f = logits[yes_id] - logits[no_id]

    def effects(scalar, ell, li):
        (grad,) = torch.autograd.grad(scalar, ins[ell], retain_graph=True)
        z = ins[ell][0, -1].detach()
        return ((torch.as_tensor(mean[li]) - z) * grad[0, -1]).view(heads, -1).sum(-1)

    result = {}
    for p, (w, b) in probes.items():
        g = outs[p][0, -1] @ torch.as_tensor(w) + b
        parts = [
            effects(g, ell, li) - effects(f, ell, li) for li, ell in enumerate(layers) if ell <= p
        ]
        result[p] = torch.cat(parts).detach().numpy()
    return result


def test_probe_shift_matches_explicit_autograd(tiny3):
    model, tok = tiny3
    layers = [1, 3]
    rng = np.random.default_rng(0)
    mean = o_proj_last_token(model, tok, PROMPTS[:2], layers, batch_size=2)["z"].mean(0)
    probes = {3: (rng.normal(size=64), 0.3)}
    got = attribution_effects(model, tok, PROMPTS, layers, mean, batch_size=3, probes=probes)
    values, valid, probe_layers = assemble(got["attribution"], got["probe_effects"], layers)
    heads = n_heads(model)
    assert probe_layers == [3] and values.shape == (len(PROMPTS), 1, 2 * heads)
    assert valid.all()
    for i, prompt in enumerate(PROMPTS):
        want = _explicit(model, tok, prompt, layers, mean, probes)
        np.testing.assert_allclose(values[i, 0], want[3], rtol=1e-9, atol=1e-12)
    assert np.abs(values).max() > 1e-4


def test_shorter_probe_layers_are_padded_and_masked(tiny3):
    model, tok = tiny3
    layers = [1, 2, 3]
    rng = np.random.default_rng(1)
    mean = o_proj_last_token(model, tok, PROMPTS, layers, batch_size=4)["z"].mean(0)
    probes = {p: (rng.normal(size=64), -0.1) for p in (2, 3)}
    got = attribution_effects(model, tok, PROMPTS, layers, mean, batch_size=2, probes=probes)
    values, valid, probe_layers = assemble(got["attribution"], got["probe_effects"], layers)
    heads = n_heads(model)
    assert probe_layers == [2, 3]
    assert valid.sum(1).tolist() == [2 * heads, 3 * heads]
    assert (values[:, 0, 2 * heads :] == 0).all()
    for i, prompt in enumerate(PROMPTS):
        want = _explicit(model, tok, prompt, layers, mean, probes)
        for pi, p in enumerate(probe_layers):
            np.testing.assert_allclose(values[i, pi][valid[pi]], want[p], rtol=1e-9, atol=1e-12)


def test_fit_probe_returns_a_probe_on_raw_features():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 20)) * rng.uniform(0.1, 10, size=20) + 5.0
    y = x[:, 3] / 5 + x[:, 7] / 2 + rng.normal(scale=0.5, size=120) > 0.5 * x[:, 7].mean() + 1
    w, b, l2 = fit_probe(x, y, folds=5, seed=0)
    assert l2 in L2_GRID and w.shape == (20,)
    assert ((x @ w + b > 0) == y).mean() > 0.85
    # The same probe, refit on standardised features by sklearn directly.
    from sklearn.linear_model import LogisticRegression

    mu, sd = x.mean(0), x.std(0)
    c = np.inf if l2 == 0 else 1 / (2 * len(y) * l2)
    ref = LogisticRegression(C=c, max_iter=1000).fit((x - mu) / sd, y)
    np.testing.assert_allclose(x @ w + b, ref.decision_function((x - mu) / sd), rtol=1e-6)


def test_fit_probe_needs_both_classes():
    with pytest.raises(QuirkyError, match="≥2 of each class"):
        fit_probe(np.zeros((10, 3)), np.array([True] * 9 + [False]))
