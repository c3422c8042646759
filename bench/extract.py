"""Our activation extraction vs a naive Hugging Face loop, measured in the same run.

Ours (`quirkymad.features.activations.extract_activations`): forward hooks gather the last
prompt token inside each layer, the LM head is applied to the answer position and the two
answer tokens only, batches are sorted by length. Naive: `model(..., output_hidden_states=True)`
on right-padded batches in input order, full-vocabulary logits at every position, then the last
token is gathered. Both return the same numbers (the largest difference is printed).

Prints examples/s, tokens/s (real prompt tokens, padding excluded) and the speed ratio. On CPU
it runs the embedded SmolLM2-135M (`results/models/smollm2-135m`, prepared there if missing) on
prompts of the default datasets; with `--cuda` a randomly initialised Mistral-7B-architecture model in
bfloat16 (prompts tokenised with the tiny test tokenizer, so their token counts differ from
Mistral's), plus the fraction of the measured bf16 matmul peak each path reaches
(2 · non-embedding parameters · real tokens FLOPs).

    PYTHONPATH=. python bench/extract.py [--n 256] [--batch-size 32] [--datasets addition,sentiment]
    PYTHONPATH=. python bench/extract.py --cuda [--json figures.json]   # bench/gpu_check.sh

`--json PATH` writes the figures (`ok` = both paths agree to 1e-2 relative, bf16 on CUDA).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from quirkymad.core.batching import batches, encode
from quirkymad.core.prompts import answer_token_ids
from quirkymad.features.activations import extract_activations

EMBEDDED = Path("results/models/smollm2-135m")


def prompts_of(datasets: list[str], n: int) -> list[str]:
    """`n` prompts, alternating between `datasets` (built into a temporary directory)."""
    from quirkymad.datasets import BuildSettings, write_dataset

    per = []
    with tempfile.TemporaryDirectory() as d:
        for name in datasets:
            out = Path(d) / name
            write_dataset(
                name, {"n_base": max(200, n)}, BuildSettings(), out / "p.parquet", out / "c.json"
            )
            per.append(pd.read_parquet(out / "p.parquet")["prompt"].tolist())
    mixed = [p for group in zip(*per) for p in group]
    return mixed[:n]


def naive(model, tok, prompts, layers, batch_size):
    """HF forward with all hidden states and full logits, right-padded batches in input order."""
    no_id, yes_id = answer_token_ids(tok)
    acts, logits = [], []
    device = next(model.parameters()).device
    for sl in batches(len(prompts), batch_size):
        enc = encode(tok, prompts[sl])
        with torch.no_grad():
            out = model(
                input_ids=enc["input_ids"].to(device),
                attention_mask=enc["attention_mask"].to(device),
                output_hidden_states=True,
            )
        rows = torch.arange(len(enc["last"]), device=device)
        last = enc["last"].to(device)
        acts.append(torch.stack([out.hidden_states[ell][rows, last] for ell in layers], 1).float())
        logits.append(out.logits[rows, last][:, [no_id, yes_id]].float())
    return torch.cat(acts).cpu().numpy(), torch.cat(logits).cpu().numpy()


def cpu_model():
    from quirkymad.models import load_model, prepare_model

    if not EMBEDDED.exists():
        prepare_model("smollm2-135m", {}, EMBEDDED)
    return load_model(EMBEDDED, None, device="cpu", dtype="float32")


def cuda_model():
    from transformers import MistralConfig, MistralForCausalLM

    from quirkymad.models.tiny import build_tokenizer

    tok = build_tokenizer()
    config = MistralConfig(
        vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=4096,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
    )  # fmt: skip
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device("cuda"):
            model = MistralForCausalLM(config)
    finally:
        torch.set_default_dtype(torch.float32)
    return model.eval(), tok


def matmul_peak(device: torch.device, size: int = 8192, reps: int = 20) -> float:
    """Measured bf16 matmul FLOP/s on `device`."""
    a = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    b = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * size**3 * reps / (time.perf_counter() - t0)


def timed(fn, cuda: bool):
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    if cuda:
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256, help="prompts")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--datasets", default="addition,sentiment")
    ap.add_argument("--cuda", action="store_true", help="7B architecture in bf16 on CUDA")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args()
    cuda = a.cuda
    if cuda and not torch.cuda.is_available():
        sys.exit("bench/extract.py: --cuda, but torch sees no CUDA device")
    model, tok = cuda_model() if cuda else cpu_model()
    prompts = prompts_of(a.datasets.split(","), a.n)
    n_layers = model.config.num_hidden_layers
    layers = list(range(1, n_layers + 1))
    tokens = sum(len(ids) for ids in tok(prompts)["input_ids"])
    print(f"device {'cuda' if cuda else 'cpu'}, {type(model).__name__}, {n_layers} layers, "
          f"{len(prompts)} prompts, {tokens} tokens, batch {a.batch_size}")  # fmt: skip
    # Warm-up both paths on one batch (allocator, kernels), then time each once.
    naive(model, tok, prompts[: a.batch_size], layers, a.batch_size)
    extract_activations(model, tok, prompts[: a.batch_size], layers, a.batch_size)
    (n_acts, n_logits), t_naive = timed(
        lambda: naive(model, tok, prompts, layers, a.batch_size), cuda
    )
    ours, t_ours = timed(
        lambda: extract_activations(model, tok, prompts, layers, a.batch_size), cuda
    )
    diff = max(
        np.abs(ours["activations"] - n_acts).max() / np.abs(n_acts).max(),
        np.abs(ours["logit_yes"] - n_logits[:, 1]).max() / np.abs(n_logits).max(),
    )
    for name, t in (("naive", t_naive), ("ours", t_ours)):
        print(
            f"{name:6s} {t:8.2f} s  {len(prompts) / t:8.2f} examples/s  {tokens / t:10.1f} tokens/s"
        )
    print(
        f"speed-up (naive time / our time): {t_naive / t_ours:.2f}x; max relative difference {diff:.2e}"
    )
    figures = {
        "device": "cuda" if cuda else "cpu", "prompts": len(prompts), "tokens": tokens,
        "seconds_naive": t_naive, "seconds_ours": t_ours, "ratio": t_naive / t_ours,
        "max_relative_difference": float(diff),
    }  # fmt: skip
    if cuda:
        peak = matmul_peak(torch.device("cuda"))
        emb = (
            model.get_input_embeddings().weight.numel()
            + model.get_output_embeddings().weight.numel()
        )
        flops = 2 * (sum(p.numel() for p in model.parameters()) - emb) * tokens
        print(f"bf16 matmul peak {peak / 1e12:.0f} TFLOP/s; fraction of peak: "
              f"naive {flops / t_naive / peak:.1%}, ours {flops / t_ours / peak:.1%}")  # fmt: skip
        figures.update(matmul_peak_tflops=peak / 1e12, peak_fraction_naive=flops / t_naive / peak,
                       peak_fraction_ours=flops / t_ours / peak)  # fmt: skip
    # bf16 on CUDA: both paths round differently; float32 on CPU: equal to ~1e-6.
    figures["ok"] = bool(diff <= (1e-2 if cuda else 1e-4))
    figures["headline"] = f"ours/naive {figures['ratio']:.2f}x, max rel diff {diff:.1e}" + (
        f", {figures['peak_fraction_ours']:.1%} of bf16 peak" if cuda else ""
    )
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
