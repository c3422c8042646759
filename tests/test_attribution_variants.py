"""[B1]'s attribution variants pcs and grad_norm (issue 19) against an independent computation on
a tiny random model: gradients from a plain full-prompt forward (no KV cache, no batching),
principal directions from numpy, the formulas written out; and the stores the shared pass
writes."""

import numpy as np
import pandas as pd
import pytest
import torch

from quirkymad.core.prompts import answer_token_ids, render_prompt
from quirkymad.features.attribution import (
    attribution_effects,
    n_heads,
    o_proj_last_token,
    o_proj_modules,
    principal_directions,
)
from quirkymad.models.tiny import build_tiny_model

PROMPTS = [
    render_prompt("Alice", "12 + 30 = 42."),
    render_prompt("Bob", "7 + 5 = 13."),
    render_prompt("Veronica", "1000 + 2345 = 3345."),
    render_prompt("Nina", "3 + 4 = 7."),
]
TRUSTED = [render_prompt("Paula", f"{a} + {a} = {3 * a}.") for a in (3, 41, 977, 12, 5, 60, 8)]


@pytest.fixture(scope="module")
def tiny():
    model, tok = build_tiny_model(n_layers=2, d_model=64, n_heads=4, seed=0)
    return model.double().eval(), tok


def _z_and_grad(model, tok, prompt, layers):
    """(z, ∂f/∂z) at the last token of `prompt`, per layer, from one plain forward."""
    no_id, yes_id = answer_token_ids(tok)
    captured = {}
    handles = []
    for ell, module in zip(layers, o_proj_modules(model, layers)):

        def hook(module, args, ell=ell):
            x = args[0]
            if not x.requires_grad:  # below the first weight that requires grad: make a leaf
                x = x.detach().requires_grad_(True)
            captured[ell] = x  # above: keep the graph, so ∂f/∂z includes the paths through it
            return (x, *args[1:])

        handles.append(module.register_forward_pre_hook(hook))
    try:
        logits = model(**tok(prompt, return_tensors="pt")).logits[0, -1]
    finally:
        for h in handles:
            h.remove()
    f = logits[yes_id] - logits[no_id]
    grads = torch.autograd.grad(f, [captured[ell] for ell in layers])
    z = [captured[ell][0, -1].detach().numpy() for ell in layers]
    model.zero_grad(set_to_none=True)
    return z, [g[0, -1].numpy() for g in grads]


def test_pcs_and_grad_norm_match_a_direct_computation(tiny):
    model, tok = tiny
    layers, k, heads = [1, 2], 3, n_heads(model)
    trusted_z = o_proj_last_token(model, tok, TRUSTED, layers, batch_size=3)["z"]
    mean = trusted_z.mean(0)
    dirs, var = principal_directions(trusted_z, k)
    got = attribution_effects(model, tok, PROMPTS, layers, mean, batch_size=3,
                              pc_directions=dirs, grad_norm=True)  # fmt: skip
    assert got["pcs"].shape == (len(PROMPTS), 2, k, heads)
    assert got["grad_norm"].shape == (len(PROMPTS), 2, heads)
    for li in range(len(layers)):
        # numpy's own eigenvectors (signs may differ: the feature is sign-invariant)
        w, v = np.linalg.eigh(np.cov(trusted_z[:, li], rowvar=False))
        top = v[:, np.argsort(w)[::-1][:k]].T
        np.testing.assert_allclose(var[li], np.sort(w)[::-1][:k], rtol=1e-8)
        for i, prompt in enumerate(PROMPTS):
            z, g = _z_and_grad(model, tok, prompt, layers)
            zh = g[li].reshape(heads, -1)
            np.testing.assert_allclose(got["grad_norm"][i, li], (zh**2).sum(1), rtol=1e-8)
            for c in range(k):
                p = top[c]
                want = (p @ (mean[li] - z[li])) * (p.reshape(heads, -1) * zh).sum(1)
                np.testing.assert_allclose(got["pcs"][i, li, c], want, rtol=1e-7, atol=1e-12)
    assert np.abs(got["pcs"]).max() > 1e-6 and (got["grad_norm"] > 0).all()


def test_all_directions_sum_to_the_attribution(tiny):
    """With every principal direction (an orthonormal basis), the pcs effects summed over
    directions are the attribution of mean-ablating the whole head: Σ_k p_k p_kᵀ = I."""
    model, tok = tiny
    layers = [2]
    trusted_z = o_proj_last_token(model, tok, TRUSTED, layers, batch_size=4)["z"]
    d = trusted_z.shape[-1]
    dirs, _ = principal_directions(trusted_z, d)
    mean = trusted_z.mean(0)
    got = attribution_effects(model, tok, PROMPTS, layers, mean, batch_size=4, pc_directions=dirs)
    # Σ_k Σ_h (p_k·(μ−z)) (p_{k,h}·g_h) = Σ_k (p_k·(μ−z)) (p_k·g) = (μ−z)·g = Σ_h e_h (per
    # head the two differ: a direction spans several heads).
    np.testing.assert_allclose(
        got["pcs"].sum((2, 3)), got["attribution"].sum(2), rtol=1e-7, atol=1e-12
    )


def test_shared_pass_writes_the_variant_stores(tmp_path):
    """The shared attribution pass writes the variants beside attribution; their values are
    the effects computed above, stored per (layer, component, head) / (layer, head)."""
    import xarray as xr

    from quirkymad.datasets import BuildSettings, write_dataset
    from quirkymad.features.extraction import AttributionSettings, extract_attribution_stores
    from quirkymad.models import prepare_model

    data = tmp_path / "data.parquet"
    write_dataset("addition", {"n_base": 600}, BuildSettings(), data, tmp_path / "card.json")
    model_dir = tmp_path / "model"
    prepare_model("tiny-random", {"n_layers": 2, "d_model": 64}, model_dir)
    s = {"max_per_role": 12, "batch_size": 16, "device": "cpu"}
    outs = {f: tmp_path / f"{f}.zarr" for f in ("attribution", "attribution_pcs",
                                                "attribution_grad_norm")}  # fmt: skip
    settings = {f: AttributionSettings(**s, n_components=4) for f in outs}
    extract_attribution_stores(model_dir, None, data, outs, settings)
    a = xr.open_zarr(outs["attribution"])
    pcs = xr.open_zarr(outs["attribution_pcs"])
    gn = xr.open_zarr(outs["attribution_grad_norm"])
    heads = a["attribution"].shape[-1]
    assert pcs["attribution_pcs"].dims == ("example", "layer", "component", "head")
    assert pcs["attribution_pcs"].shape[2:] == (4, heads)
    assert gn["attribution_grad_norm"].dims == ("example", "layer", "head")
    assert (gn["attribution_grad_norm"].values >= 0).all()
    assert list(pcs["example"].values) == list(a["example"].values)
    dirs = pcs["pc_direction"].values
    gram = np.einsum("lkd,ljd->lkj", dirs, dirs)
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(4), gram.shape), atol=1e-5)
    assert pd.Series(pcs["pc_variance"].values[0]).is_monotonic_decreasing
