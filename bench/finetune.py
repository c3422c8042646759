"""Our fine-tuning step vs a naive peft loop: same model, data, batch and adapter, same run.

Ours (quirkymad.finetune): the LM head only at the last prompt position (loss on the answer
token), length-bucketed batches, micro-batches with gradient accumulation.
Naive: the usual causal-LM step: prompt + answer token, labels masked to the answer token,
full-vocabulary logits at every position, batches in random order padded to their longest.
Both run one pass over the same examples; tokens/s counts unpadded prompt tokens. The first
batch's loss is compared first (the two compute the same objective).

CPU: the embedded SmolLM2-135M (prepared into --model-dir if missing). `--cuda`: a randomly
initialised Mistral-7B-architecture model in bf16 (SmolLM2's tokenizer), plus MFU:
FLOPs/token ~ 4 N (forward 2N + backward through the frozen base to the activations 2N; no
weight gradients for frozen weights; attention's quadratic term ignored), peak = H100 bf16
dense 989 TFLOP/s (`--peak-tflops`).

    PYTHONPATH=. python bench/finetune.py [--steps 6] [--batch 8] [--dataset sentiment]
    PYTHONPATH=. python bench/finetune.py --cuda --steps 20 --batch 32 --micro 16
    ... --json figures.json   # bench/gpu_check.sh: ratio, MFU, `ok` = same first-batch loss
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

from quirkymad.core.batching import encode
from quirkymad.core.prompts import answer_token_ids
from quirkymad.finetune.lora import answer_loss_sum
from quirkymad.finetune.records import epoch_order, select_balanced, token_lengths
from quirkymad.finetune.settings import LORA_TARGETS
from quirkymad.finetune.step import accumulate_gradients


def naive_loss(model, tok, prompts: list[str], targets: torch.Tensor, max_length: int):
    """Mean answer-token loss the usual way: `labels` = -100 except the appended answer."""
    enc = encode(tok, prompts, max_length)
    b, t = enc["input_ids"].shape
    ids = torch.full((b, t + 1), tok.pad_token_id, dtype=torch.long)
    ids[:, :t] = enc["input_ids"]
    mask = torch.zeros((b, t + 1), dtype=torch.long)
    mask[:, :t] = enc["attention_mask"]
    rows = torch.arange(b)
    ids[rows, enc["last"] + 1] = targets
    mask[rows, enc["last"] + 1] = 1
    labels = torch.full_like(ids, -100)
    labels[rows, enc["last"] + 1] = targets
    device = next(model.parameters()).device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                    labels=labels.to(device))  # fmt: skip
    return out.loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def load(args):
    from peft import LoraConfig, get_peft_model

    from quirkymad.models import load_model, prepare_model
    from quirkymad.models.loading import load_tokenizer

    if not Path(args.model_dir).exists():
        prepare_model("smollm2-135m", {}, args.model_dir)
    if args.cuda:
        from transformers import AutoModelForCausalLM, MistralConfig

        tok = load_tokenizer(args.model_dir)
        cfg = MistralConfig(vocab_size=len(tok))  # Mistral-7B-v0.1 shapes
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    else:
        model, tok = load_model(args.model_dir, device="cpu")
    n_params = sum(p.numel() for p in model.parameters())
    lora = LoraConfig(r=8, lora_alpha=8, lora_dropout=0.0, target_modules=list(LORA_TARGETS),
                      task_type="CAUSAL_LM")  # fmt: skip
    model = get_peft_model(model, lora)
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    model.train()
    return model, tok, n_params


def data(args, tok) -> tuple[list[str], torch.Tensor]:
    from quirkymad.datasets import BuildSettings, write_dataset

    with tempfile.TemporaryDirectory() as d:
        write_dataset(args.dataset, {"n_base": args.n_base}, BuildSettings(),
                      Path(d) / "data.parquet", Path(d) / "card.json")  # fmt: skip
        df = pd.read_parquet(Path(d) / "data.parquet")
    train = select_balanced(df, "train", args.steps * args.batch, 0)
    assert len(train) == args.steps * args.batch, f"only {len(train)} training examples"
    no_id, yes_id = answer_token_ids(tok)
    return train["prompt"].tolist(), torch.tensor([yes_id if y else no_id for y in train["label"]])


def run(name, model, order, step_fn, lengths, args, device) -> float:
    """Tokens/s of one pass over `order` in batches (after one untimed warm-up step)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)
    batches = [order[i : i + args.batch] for i in range(0, len(order), args.batch)]
    step_fn(batches[0], params)
    opt.zero_grad(set_to_none=True)
    _sync(device)
    t0 = time.perf_counter()
    for idx in batches:
        step_fn(idx, params)
        opt.step()
        opt.zero_grad(set_to_none=True)
    _sync(device)
    dt = time.perf_counter() - t0
    tps = float(lengths[order].sum()) / dt
    print(f"{name:>6}: {len(batches)} steps in {dt:.2f} s, {tps:,.0f} tokens/s")
    return tps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuda", action="store_true")
    ap.add_argument("--model-dir", default="results/models/smollm2-135m")
    ap.add_argument("--dataset", default="sentiment")
    ap.add_argument("--n-base", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--micro", type=int, default=None, help="micro-batch (default: batch)")
    ap.add_argument("--max-length", type=int, default=1024)
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    if args.cuda and not torch.cuda.is_available():
        sys.exit("bench/finetune.py: --cuda, but torch sees no CUDA device")
    torch.manual_seed(0)
    model, tok, n_params = load(args)
    device = next(model.parameters()).device
    prompts, y = data(args, tok)
    lengths = token_lengths(tok, prompts, args.max_length)
    micro = args.micro or args.batch
    print(f"{device}, {n_params / 1e6:.0f}M base parameters, {args.dataset}: {len(prompts)} "
          f"examples, prompt tokens mean {lengths.mean():.0f} max {lengths.max()}, batch "
          f"{args.batch} (micro {micro})")  # fmt: skip

    first = np.arange(args.batch)
    with torch.no_grad():
        ours0 = answer_loss_sum(model, tok, [prompts[i] for i in first], y[first],
                                args.max_length).item() / args.batch  # fmt: skip
        naive0 = naive_loss(model, tok, [prompts[i] for i in first], y[first],
                            args.max_length).item()  # fmt: skip
    print(f"first-batch loss: ours {ours0:.5f}, naive {naive0:.5f}")

    def ours_step(idx, params):
        accumulate_gradients(
            lambda part: answer_loss_sum(model, tok, [prompts[i] for i in part], y[part],
                                         args.max_length),  # fmt: skip
            idx, micro, params,
        )  # fmt: skip

    def naive_step(idx, params):
        for s in range(0, len(idx), micro):
            part = idx[s : s + micro]
            (naive_loss(model, tok, [prompts[i] for i in part], y[part], args.max_length)
             * len(part) / len(idx)).backward()  # fmt: skip

    n = len(prompts)
    ours_order = epoch_order(n, 0, 0, lengths, args.batch, bucket_batches=64)
    naive_order = epoch_order(n, 0, 0)
    t_ours = run("ours", model, ours_order, ours_step, lengths, args, device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
    t_naive = run("naive", model, naive_order, naive_step, lengths, args, device)
    print(f"ratio ours/naive: {t_ours / t_naive:.2f}x")
    # Same objective: first-batch losses agree (bf16 on CUDA rounds the two paths differently).
    rel = abs(ours0 - naive0) / max(abs(naive0), 1e-12)
    figures = {
        "device": device.type, "base_parameters": n_params, "examples": len(prompts),
        "tokens_per_s_ours": t_ours, "tokens_per_s_naive": t_naive, "ratio": t_ours / t_naive,
        "first_batch_loss_ours": ours0, "first_batch_loss_naive": naive0,
        "first_batch_loss_relative_difference": rel,
        "ok": bool(rel <= (2e-2 if device.type == "cuda" else 1e-4)),
    }  # fmt: skip
    if device.type == "cuda":
        for name, tps in (("ours", t_ours), ("naive", t_naive)):
            mfu = 4 * n_params * tps / (args.peak_tflops * 1e12)
            figures[f"mfu_{name}"] = mfu
            print(
                f"MFU {name}: {100 * mfu:.1f} % (4 N FLOPs/token, peak {args.peak_tflops} TFLOP/s)"
            )
        figures["peak_gpu_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
        figures["peak_tflops_assumed"] = args.peak_tflops
        print(f"peak GPU memory: {figures['peak_gpu_memory_gib']:.1f} GiB")
    figures["headline"] = f"ours/naive {figures['ratio']:.2f}x, loss rel diff {rel:.1e}" + (
        f", MFU {figures['mfu_ours']:.1%}" if "mfu_ours" in figures else ""
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
