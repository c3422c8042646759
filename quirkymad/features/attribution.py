"""Attribution patching: the first-order effect of mean-ablating each attention head on the
answer log-odds, all at the o_proj input. Spec §4 ("Attribution"), conflict C2.

For layer ℓ and head h, z_{ℓ,h}(x) ∈ R^{d_head} is head h's slice of the input of
`self_attn.o_proj` (the concatenated head outputs) at the last prompt token, μ_{ℓ,h} its mean
over trusted records, f = logit(" Yes") − logit(" No") at the answer position, and

    e_{ℓ,h}(x) = (μ_{ℓ,h} − z_{ℓ,h}(x)) · ∂f/∂z_{ℓ,h}(x)

is the linear estimate of f(z_{ℓ,h} := μ_{ℓ,h}) − f(x) (Syed et al., attribution patching).
One backward pass per batch gives ∂f/∂z for every layer. Probe effects (probe shift, spec §4)
use the same formula with f replaced by a linear probe g_p on the o_proj *output* of layer p.

Only the last token runs with grad: z at the last token influences f only through the last
position (causal attention), and the earlier positions' keys and values do not depend on it. So
the prompt minus its last token runs once without grad, filling a KV cache, and the last token
alone runs with grad on top of it: the gradients are exact, and the backward pass costs one
token per example instead of the whole prompt (batches are left-padded for this).

Layer ℓ ∈ 1..n is the ℓ-th decoder block, `model.layers[ℓ − 1]`: the block whose output is the
residual `hidden_states[ℓ]` that the activations store calls layer ℓ (features/hooks.py). The
functions below take layers in this indexing. Config `features.attribution.layer_index:
cupbearer` numbers layers as the reference does instead (`layers.{ℓ}.self_attn.o_proj`, ℓ ∈
0..n−1 = `model.layers[ℓ]`); `block_layers` maps those labels to ours (docs/deviations.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from quirkymad.core.batching import (
    answer_logits,
    batches,
    encode,
    head_logits,
    length_sorted,
    tokenize,
)
from quirkymad.core.layers import first_layer
from quirkymad.core.prompts import answer_token_ids
from quirkymad.features.hooks import decoder_layers

LAYER_DEFINITION = (
    "layer ℓ = decoder block model.layers[ℓ-1] (the block whose output is hidden_states[ℓ], "
    "the activations store's layer ℓ); z = head slice of its self_attn.o_proj input"
)

# `features.<attribution|probe_shift>.layer_index`: how a layer label ℓ names a decoder block
# (the indexings and their first labels: quirkymad/core/layers.py, `LAYER_INDEX`, `first_layer`).
LAYER_DEFINITIONS = {
    "ours": LAYER_DEFINITION,
    "cupbearer": (
        "layer ℓ = decoder block model.layers[ℓ] (0-based, cupbearer's layers.{ℓ}.self_attn.o_proj;"
        " the block whose output is hidden_states[ℓ+1], the activations store's layer ℓ+1); "
        "z = head slice of its self_attn.o_proj input"
    ),
}


def block_layers(labels: Sequence[int], layer_index: str) -> list[int]:
    """Our layer numbers (block ℓ − 1) of layer `labels` given in `layer_index`'s indexing."""
    return [int(ell) + 1 - first_layer(layer_index) for ell in labels]


# A linear probe on the o_proj output: (weights [d_model], bias).
Probe = tuple[np.ndarray, float]


def o_proj_modules(model, layers: Sequence[int]) -> list[torch.nn.Module]:
    """`self_attn.o_proj` of each layer ℓ (block ℓ − 1); LoRA-wrapped modules included."""
    blocks = decoder_layers(model)
    bad = [ell for ell in layers if not 1 <= ell <= len(blocks)]
    if bad:
        raise ValueError(f"layers {bad} out of range 1..{len(blocks)} for this model")
    return [blocks[ell - 1].self_attn.o_proj for ell in layers]


def n_heads(model) -> int:
    return int(model.config.num_attention_heads)


@contextlib.contextmanager
def o_proj_tensors(model, layers: Sequence[int]) -> Iterator[dict[str, dict[int, torch.Tensor]]]:
    """While active, each forward fills `{"in": {ℓ: [batch, seq, H·d_head]}, "out": {ℓ:
    [batch, seq, d_model]}}` with the o_proj input and output of every layer in `layers`.

    With grad enabled, an input that is not yet part of a graph (frozen weights below it) is
    made a leaf that requires grad, so ∂/∂z exists for it and for every layer above it.
    """
    captured: dict[str, dict[int, torch.Tensor]] = {"in": {}, "out": {}}
    handles = []
    for ell, module in zip(layers, o_proj_modules(model, layers)):

        def pre_hook(module, args, ell=ell):
            x = args[0]
            if torch.is_grad_enabled() and not x.requires_grad:
                x = x.detach().requires_grad_(True)
            captured["in"][ell] = x
            return (x, *args[1:])

        def post_hook(module, args, output, ell=ell):
            captured["out"][ell] = output

        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def frozen(model) -> Iterator[None]:
    """Weights stop requiring grad (no graph through them, no weight gradients), restored after."""
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _at_last(t: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """`t[b, last[b]]` for each row b: `[batch, seq, ...]` → `[batch, ...]`."""
    return t[torch.arange(t.shape[0], device=t.device), last.to(t.device)]


def _compute_dtype(t: torch.Tensor) -> torch.dtype:
    return torch.float64 if t.dtype == torch.float64 else torch.float32


def encode_left(tokenizer, prompts: Sequence[str], max_length: int = 1024) -> dict:
    """Left-padded `input_ids`/`attention_mask` `[batch, seq]` (every prompt ends at the last
    column) and `position_ids` counting real tokens only, so a left-padded row computes what
    it would alone. Over-long prompts lose their start, as in batching.encode."""
    enc = tokenize(tokenizer, prompts, "left", max_length)
    mask = enc["attention_mask"]
    if (mask[:, -1] == 0).any() or (mask.sum(1) < 2).any():
        raise ValueError("every prompt needs ≥2 tokens and left padding")
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": enc["input_ids"], "attention_mask": mask, "position_ids": position_ids}


def _decoder(model):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base, base.get_decoder()


@torch.no_grad()
def prefix_cache(model, enc: dict):
    """KV cache of every prompt minus its last token (`enc` from `encode_left`), no grad."""
    base, decoder = _decoder(model)
    device = next(base.parameters()).device
    out = decoder(
        input_ids=enc["input_ids"][:, :-1].to(device),
        attention_mask=enc["attention_mask"][:, :-1].to(device),
        position_ids=enc["position_ids"][:, :-1].to(device),
        use_cache=True,
    )
    return out.cache


def last_token_logits(model, enc: dict, cache, token_ids: Sequence[int]) -> torch.Tensor:
    """Logits of `token_ids` `[batch, len(token_ids)]` at the last token, run on top of
    `cache` (from `prefix_cache`); differentiable in everything the last token computes."""
    base, decoder = _decoder(model)
    device = next(base.parameters()).device
    hidden = decoder(
        input_ids=enc["input_ids"][:, -1:].to(device),
        attention_mask=enc["attention_mask"].to(device),
        position_ids=enc["position_ids"][:, -1:].to(device),
        cache=cache,
        use_cache=True,
    ).last_hidden_state[:, -1]
    return head_logits(model, hidden, token_ids)


@torch.no_grad()
def o_proj_last_token(
    model, tokenizer, prompts: Sequence[str], layers: Sequence[int], batch_size: int = 32
) -> dict[str, np.ndarray]:
    """o_proj input `z` `[n, n_layers, H·d_head]` and output `out` `[n, n_layers, d_model]` at
    each prompt's last token, float64, in input order (the trusted mean and probe data), and
    the answer log-odds `log_odds` `[n]` (f, the probes' `model` target)."""
    order = length_sorted(tokenizer, prompts)
    z = out = None
    log_odds = np.empty(len(prompts))
    for sl in batches(len(order), batch_size):
        idx = order[sl]
        enc = encode(tokenizer, [prompts[i] for i in idx])
        with o_proj_tensors(model, layers) as got:
            logits = answer_logits(model, enc, answer_token_ids(tokenizer)).double()
        log_odds[idx] = (logits[:, 1] - logits[:, 0]).cpu().numpy()
        zb = torch.stack([_at_last(got["in"][ell], enc["last"]) for ell in layers], dim=1)
        ob = torch.stack([_at_last(got["out"][ell], enc["last"]) for ell in layers], dim=1)
        if z is None:
            z = np.empty((len(prompts), *zb.shape[1:]))
            out = np.empty((len(prompts), *ob.shape[1:]))
        z[idx] = zb.double().cpu().numpy()
        out[idx] = ob.double().cpu().numpy()
    return {"z": z, "out": out, "log_odds": log_odds}


def _effects(
    zs: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    mean: torch.Tensor,
    last: torch.Tensor,
    heads: int,
) -> torch.Tensor:
    """`[batch, len(zs), H]`: per layer and head, (μ − z)·∂/∂z at the last token."""
    out = []
    for i, (z, g) in enumerate(zip(zs, grads)):
        dt = _compute_dtype(z)
        zl, gl = _at_last(z, last).to(dt), _at_last(g, last).to(dt)
        prod = (mean[i].to(dt) - zl) * gl
        out.append(prod.view(prod.shape[0], heads, -1).sum(-1))
    return torch.stack(out, dim=1)


def _pc_effects(
    zs: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    mean: torch.Tensor,
    directions: torch.Tensor,
    last: torch.Tensor,
    heads: int,
) -> torch.Tensor:
    """`[batch, len(zs), K, H]`: per layer, principal direction p_k and head h,
    (p_k·(μ − z)) · (p_{k,h}·∂f/∂z_h) — mean-ablating z along p_k, split by head."""
    out = []
    for i, (z, g) in enumerate(zip(zs, grads)):
        dt = _compute_dtype(z)
        zl, gl = _at_last(z, last).to(dt), _at_last(g, last).to(dt)
        p = directions[i].to(dt)  # [K, D]
        coef = (mean[i].to(dt) - zl) @ p.T  # [batch, K]
        pg = (p[None] * gl[:, None, :]).view(gl.shape[0], p.shape[0], heads, -1).sum(-1)
        out.append(coef[:, :, None] * pg)
    return torch.stack(out, dim=1)


def _grad_norms(zs: Sequence[torch.Tensor], grads, last: torch.Tensor, heads: int):
    """`[batch, len(zs), H]`: ‖∂f/∂z_{ℓ,h}‖² at the last token."""
    out = []
    for z, g in zip(zs, grads):
        gl = _at_last(g, last).to(_compute_dtype(z))
        out.append(gl.view(gl.shape[0], heads, -1).pow(2).sum(-1))
    return torch.stack(out, dim=1)


def principal_directions(z: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Top `n_components` eigenvectors `[n_layers, K, D]` (and eigenvalues `[n_layers, K]`,
    descending) of the sample covariance of trusted o_proj inputs `z` `[n, n_layers, D]`, per
    layer; each vector's sign fixed so its largest-magnitude entry is positive."""
    k = min(n_components, z.shape[-1])
    vecs, vals = [], []
    for i in range(z.shape[1]):
        w, v = np.linalg.eigh(np.cov(z[:, i], rowvar=False, ddof=1))
        top = np.argsort(w)[::-1][:k]
        v = v[:, top].T
        v *= np.sign(v[np.arange(k), np.abs(v).argmax(1)])[:, None]
        vecs.append(v)
        vals.append(w[top])
    return np.stack(vecs), np.stack(vals)


def attribution_effects(
    model,
    tokenizer,
    prompts: Sequence[str],
    layers: Sequence[int],
    mean: np.ndarray,
    batch_size: int = 32,
    probes: Mapping[int, Probe] | None = None,
    pc_directions: np.ndarray | None = None,
    grad_norm: bool = False,
) -> dict[str, np.ndarray]:
    """Attribution of every head of `layers` to f = logit(" Yes") − logit(" No").

    `mean` `[n_layers, H·d_head]` is μ (the trusted mean of z). Returns, in input order:

    - `attribution` `[n, n_layers, H]`: e_{ℓ,h} (module docstring);
    - `logit_no`, `logit_yes` `[n]`;
    - with `probes` `{p: (w [d_model], b)}` (p ∈ `layers`): `probe_effects[p]` `[n, k_p, H]`,
      e^g_{ℓ,h} = (μ_{ℓ,h} − z_{ℓ,h})·∂g_p/∂z_{ℓ,h} for the k_p layers ℓ ∈ `layers` with ℓ ≤ p,
      where g_p = w·o_proj_out_p + b at the last token;
    - with `pc_directions` `[n_layers, K, H·d_head]` (unit vectors p_k, e.g.
      `principal_directions` of the trusted z): `pcs` `[n, n_layers, K, H]`, the attribution
      of mean-ablating z along p_k, (p_k·(μ − z)) p_k, split by head:
      (p_k·(μ − z)) · (p_{k,h}·∂f/∂z_h) ([B1]'s *pcs* variant; summed over h it is
      (p_k·(μ − z)) (p_k·∂f/∂z));
    - with `grad_norm`: `grad_norm` `[n, n_layers, H]`, ‖∂f/∂z_{ℓ,h}‖² ([B1]'s *grad_norm*).

    Batches are length-sorted, each one gradient pass (`_batch_effects`); float32 effects
    (float64 for a float64 model).
    """
    layers, probes = list(layers), dict(probes or {})
    device = next(model.parameters()).device
    targets = _Targets(
        answer_ids=answer_token_ids(tokenizer),
        heads=n_heads(model),
        mean=torch.as_tensor(np.asarray(mean), device=device),
        probes={
            p: (torch.as_tensor(np.asarray(w), device=device), float(b))
            for p, (w, b) in probes.items()
        },  # fmt: skip
        directions=None if pc_directions is None else torch.as_tensor(pc_directions, device=device),
        grad_norm=grad_norm,
    )
    order = length_sorted(tokenizer, prompts)
    res: dict[str, np.ndarray] = {}
    for sl in tqdm(list(batches(len(order), batch_size)), desc="attribution", unit="batch"):
        idx = order[sl]
        enc = encode_left(tokenizer, [prompts[i] for i in idx])
        for name, t in _batch_effects(model, enc, layers, targets).items():
            arr = t.detach().cpu().numpy()
            if name not in res:
                res[name] = np.empty((len(prompts), *arr.shape[1:]), dtype=arr.dtype)
            res[name][idx] = arr
    logits = res["logits"]
    out = {"attribution": res["attribution"], "logit_no": logits[:, 0], "logit_yes": logits[:, 1]}
    if probes:
        out["probe_effects"] = {p: res[f"probe_{p}"] for p in probes}
    return out | {name: res[name] for name in ("pcs", "grad_norm") if name in res}


@dataclass(frozen=True)
class _Targets:
    """What one gradient pass computes: the answer tokens (no, yes), heads per layer, μ
    `[n_layers, H·d_head]`, probes {p: (w, b)}, principal directions or None, grad norms."""

    answer_ids: tuple[int, int]
    heads: int
    mean: torch.Tensor
    probes: dict[int, tuple[torch.Tensor, float]]
    directions: torch.Tensor | None
    grad_norm: bool


def _batch_effects(model, enc, layers: list[int], t: _Targets) -> dict[str, torch.Tensor]:
    """One batch's effects (`attribution`, `pcs`, `grad_norm`, `probe_{p}`) and `logits`
    `[batch, 2]`: a no-grad forward over the prompts minus their last token, then the last
    token with grad, one backward pass for f and one per probe (through layers ≤ p only)."""
    last = torch.zeros(enc["input_ids"].shape[0], dtype=torch.long)  # one position per row
    with frozen(model):
        cache = prefix_cache(model, enc)
        with torch.enable_grad(), o_proj_tensors(model, layers) as got:
            logits = last_token_logits(model, enc, cache, t.answer_ids)
            f = logits[:, 1] - logits[:, 0]
            zs = [got["in"][ell] for ell in layers]
            # Each f[b] depends only on row b, so the gradient of the sum is per example.
            grads = torch.autograd.grad(f.sum(), zs, retain_graph=bool(t.probes))
            out = {"attribution": _effects(zs, grads, t.mean, last, t.heads)}
            if t.directions is not None:
                out["pcs"] = _pc_effects(zs, grads, t.mean, t.directions, last, t.heads)
            if t.grad_norm:
                out["grad_norm"] = _grad_norms(zs, grads, last, t.heads)
            for p, (w, b) in t.probes.items():
                g = _at_last(got["out"][p], last).to(w.dtype) @ w + b
                k = sum(ell <= p for ell in layers)
                gp = torch.autograd.grad(g.sum(), zs[:k], retain_graph=True)
                out[f"probe_{p}"] = _effects(zs[:k], gp, t.mean[:k], last, t.heads)
    # Under bf16 autocast the head's logits are bf16 (numpy has no bf16): float32 then.
    out["logits"] = logits.detach().to(_compute_dtype(logits))
    return out
