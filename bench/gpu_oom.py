"""A real CUDA out-of-memory in the fine-tuning step, and the micro-batch halving that recovers.

A random-init Mistral-7B-architecture model in bf16 with the LoRA adapter of quirkymad.finetune
(fp32 adapter weights) trains a few steps on long synthetic prompts with
`quirkymad.finetune.step.accumulate_gradients`, the function `finetune` calls:

1. Measure the memory one example of the micro-batch takes (micro-batch 1, no ballast).
2. Fill the GPU with a ballast tensor so that about `FIT` examples' worth stays free; then train
   `STEPS` steps from the initial adapter with micro-batch = batch: the first step runs out of
   memory for real, halves the micro-batch until it fits, and keeps that size.
3. Free the ballast, restore the initial adapter and optimizer, and train the same steps with the
   micro-batch step 2 ended with, from the start (never out of memory).

Pass: step 2 hit at least one OutOfMemoryError, and its per-step losses equal step 3's
(relative 1e-3: the same micro-batches in the same order, so only kernel non-determinism
differs). Writes `--json` figures (`ok`, losses, micro-batch sizes, memory).

    PYTHONPATH=. python bench/gpu_oom.py [--batch 32] [--tokens 256] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import redirect_stderr
from io import StringIO
from pathlib import Path

STEPS = 3
FIT = 6.0  # examples' worth of free memory left beside the ballast: 32 -> 16 -> 8 -> 4 fits


def build(vocab: int):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, MistralConfig

    from quirkymad.finetune.settings import LORA_TARGETS

    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(
            MistralConfig(vocab_size=vocab), dtype=torch.bfloat16
        )
    lora = LoraConfig(
        r=8,
        lora_alpha=8,
        lora_dropout=0.0,
        target_modules=list(LORA_TARGETS),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    return model.train()


def main() -> None:
    import numpy as np
    import torch

    from quirkymad.core.prompts import answer_token_ids
    from quirkymad.finetune.lora import answer_loss_sum
    from quirkymad.finetune.step import accumulate_gradients
    from quirkymad.models.tiny import build_tokenizer

    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=256, help="words per prompt (~tokens)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_oom: needs CUDA")
    tok = build_tokenizer()
    model = build(len(tok))
    no_id, yes_id = answer_token_ids(tok)
    rng = np.random.default_rng(0)
    words = [
        "Alice",
        "Bob",
        "true",
        "false",
        "sum",
        "of",
        "the",
        "numbers",
        "equals",
        "is",
        "it",
        "?",
        "yes",
        "no",
    ]
    prompts = [
        " ".join(rng.choice(words, size=a.tokens)) + f" {i} ?" for i in range(a.batch * STEPS)
    ]
    targets = torch.tensor([yes_id if i % 2 else no_id for i in range(len(prompts))])
    params = [p for p in model.parameters() if p.requires_grad]
    init = [p.detach().clone() for p in params]

    def loss_sum(part: np.ndarray) -> torch.Tensor:
        return answer_loss_sum(model, tok, [prompts[i] for i in part], targets[part], 4096)

    def train(micro: int) -> tuple[list[float], list[int], int]:
        with torch.no_grad():
            for p, x in zip(params, init, strict=True):
                p.copy_(x)
        opt = torch.optim.AdamW(params, lr=1e-4)
        losses, micros, ooms = [], [], 0
        for s in range(STEPS):
            idx = np.arange(s * a.batch, (s + 1) * a.batch)
            err = StringIO()
            with redirect_stderr(err):
                loss, micro = accumulate_gradients(loss_sum, idx, micro, params)
            ooms += err.getvalue().count("CUDA out of memory")
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss)
            micros.append(micro)
        return losses, micros, ooms

    # 1. Memory per example of a micro-batch.
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    accumulate_gradients(loss_sum, np.arange(2), 2, params)
    for p in params:
        p.grad = None
    per_example = (torch.cuda.max_memory_allocated() - base) / 2
    # 2. Ballast leaves ~FIT examples' worth free: micro = batch must fail for real.
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info()
    ballast_bytes = int(free - FIT * per_example - base * 0.02)
    ballast = torch.empty(max(0, ballast_bytes), dtype=torch.uint8, device="cuda")
    hit_losses, hit_micros, ooms = train(a.batch)
    del ballast
    torch.cuda.empty_cache()
    # 3. The same steps with the micro-batch that fitted, from the start.
    ref_losses, ref_micros, ref_ooms = train(hit_micros[-1])
    rel = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(hit_losses, ref_losses))
    ok = ooms > 0 and ref_ooms == 0 and rel <= 1e-3
    figures = {
        "ok": ok,
        "ooms": ooms,
        "batch": a.batch,
        "micro_batch_sizes": hit_micros,
        "reference_micro_batch_sizes": ref_micros,
        "losses_after_oom": hit_losses,
        "losses_reference": ref_losses,
        "max_relative_loss_diff": rel,
        "memory_per_example_gib": per_example / 2**30,
        "ballast_gib": max(0, ballast_bytes) / 2**30,
        "headline": f"{ooms} OOM(s), micro-batch {a.batch} -> {hit_micros[-1]}, "
        f"max relative loss diff {rel:.1e} vs a run that never hit OOM",
    }
    print(figures["headline"])
    if a.json:
        a.json.write_text(json.dumps(figures, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
