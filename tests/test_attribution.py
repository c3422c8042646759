"""Attribution patching equals actual mean-patching to first order (finite differences)."""

import numpy as np
import pytest
import torch

from quirkymad.core.batching import answer_logits, encode
from quirkymad.core.prompts import answer_token_ids, render_prompt
from quirkymad.features.attribution import (
    attribution_effects,
    n_heads,
    o_proj_last_token,
    o_proj_modules,
)
from quirkymad.models.tiny import build_tiny_model

PROMPTS = [
    render_prompt("Alice", "12 + 30 = 42."),
    render_prompt("Bob", "7 + 5 = 13."),
    render_prompt("Veronica", "1000 + 2345 = 3345."),
    render_prompt("Nina", "3 + 4 = 7."),
    render_prompt("Luna", "250 + 250 = 5000."),
]


def _peft(model):
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=4, target_modules=["q_proj", "o_proj"], init_lora_weights=False)
    return get_peft_model(model, cfg)


def _rms_norm_in_input_dtype(self, hidden_states):
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))


@pytest.fixture(scope="module", params=["plain", "peft"])
def tiny64(request):
    """The tiny random Llama in float64 (plain, or with an unmerged LoRA adapter on o_proj).

    Llama's RMSNorm computes in float32 even in a float64 model, which would make finite
    differences float32-noisy; here it keeps the input dtype."""
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    patch = pytest.MonkeyPatch()
    patch.setattr(LlamaRMSNorm, "forward", _rms_norm_in_input_dtype)
    request.addfinalizer(patch.undo)
    model, tok = build_tiny_model(n_layers=2, d_model=64, n_heads=4, seed=0)
    model = model.double().eval()
    if request.param == "peft":
        torch.manual_seed(1)
        model = _peft(model).double().eval()
    return model, tok


def _patched_f(model, tok, layer: int, head: int, mean: np.ndarray, eps: float) -> np.ndarray:
    """f = logit(Yes) − logit(No) with z_{layer,head} := z + eps·(μ − z) at the last token."""
    heads = n_heads(model)
    module = o_proj_modules(model, [layer])[0]
    out = []
    for prompt in PROMPTS:
        enc = encode(tok, [prompt])
        last = int(enc["last"][0])

        def hook(module, args, last=last):
            x = args[0].clone()
            d = x.shape[-1] // heads
            sl = slice(head * d, (head + 1) * d)
            mu = torch.as_tensor(mean[sl], dtype=x.dtype)
            x[0, last, sl] = x[0, last, sl] + eps * (mu - x[0, last, sl])
            return (x,)

        handle = module.register_forward_pre_hook(hook)
        try:
            with torch.no_grad():
                logits = answer_logits(model, enc, answer_token_ids(tok))
        finally:
            handle.remove()
        out.append((logits[0, 1] - logits[0, 0]).item())
    return np.array(out)


def test_attribution_matches_finite_difference_patching(tiny64):
    model, tok = tiny64
    layers = [1, 2]
    # μ from a different set of prompts, so μ − z is not small.
    others = [render_prompt("Paula", f"{a} + {a} = {3 * a}.") for a in (3, 41, 977)]
    mean = o_proj_last_token(model, tok, others, layers, batch_size=2)["z"].mean(0)
    got = attribution_effects(model, tok, PROMPTS, layers, mean, batch_size=2)
    assert got["attribution"].shape == (len(PROMPTS), 2, n_heads(model))
    assert got["attribution"].dtype == np.float64
    eps = 1e-5

    def central(layer, head, mu, e):
        up = _patched_f(model, tok, layer, head, mu, e)
        return (up - _patched_f(model, tok, layer, head, mu, -e)) / (2 * e)

    for li, layer in enumerate(layers):
        for head in range(n_heads(model)):
            fd = central(layer, head, mean[li], eps)
            np.testing.assert_allclose(got["attribution"][:, li, head], fd, rtol=1e-7, atol=1e-10)
    assert np.abs(got["attribution"]).max() > 1e-4  # not trivially zero


def test_logits_and_mean_pass_agree_with_a_plain_forward(tiny64):
    model, tok = tiny64
    layers = [2]
    z = o_proj_last_token(model, tok, PROMPTS, layers, batch_size=3)["z"]
    got = attribution_effects(model, tok, PROMPTS, layers, z.mean(0), batch_size=3)
    no_id, yes_id = answer_token_ids(tok)
    for i, prompt in enumerate(PROMPTS):
        with torch.no_grad():
            logits = model(**tok(prompt, return_tensors="pt")).logits[0, -1]
        np.testing.assert_allclose(got["logit_yes"][i], logits[yes_id].item(), rtol=1e-10)
        np.testing.assert_allclose(got["logit_no"][i], logits[no_id].item(), rtol=1e-10)
    # μ = z(x): ablating to the example's own value has no effect.
    own = attribution_effects(model, tok, PROMPTS[:1], layers, z[0], batch_size=1)
    np.testing.assert_allclose(own["attribution"], 0.0, atol=1e-12)


def test_weights_keep_requires_grad(tiny64):
    model, tok = tiny64
    before = [p.requires_grad for p in model.parameters()]
    attribution_effects(model, tok, PROMPTS[:2], [1], np.zeros((1, 64)), batch_size=2)
    assert [p.requires_grad for p in model.parameters()] == before
