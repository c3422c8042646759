"""LoRA fine-tuning with the loss on the answer token only, early-stopped on validation loss.

Recipe: EleutherAI/elk-generalization `training/sft.py`, quirky-language-models
`training/run_sft.py`; spec §3. The loss is cross-entropy of the answer token (" Yes"/" No")
over the full vocabulary at the last prompt position, which is what a causal-LM loss on
prompt + answer with the prompt masked computes, without the other positions' logits.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from quirkymad.atomic import atomic_path
from quirkymad.batching import batches, encode, last_hidden, length_sorted
from quirkymad.finetune.checkpoint import (
    load_checkpoint,
    remove_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    settings_hash,
)
from quirkymad.finetune.step import accumulate_gradients
from quirkymad.models.base import MANIFEST
from quirkymad.models.loading import load_model
from quirkymad.prompts import answer_token_ids
from quirkymad.seeding import seed_everything

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class FinetuneSettings:
    """Config `finetune.*`; defaults are the paper's recipe (spec §3)."""

    lora_r: int = 8
    """LoRA rank."""
    lora_alpha: float = 8.0
    """LoRA scaling numerator (PEFT default alpha = r)."""
    lr: float = 2e-5
    """Peak AdamW learning rate (linear warm-up then linear decay)."""
    weight_decay: float = 0.1
    beta2: float = 0.95
    warmup_fraction: float = 0.15
    epochs: float = 1.0
    """Maximum epochs over the balanced training set."""
    batch_size: int = 16
    """Examples per optimiser step (the effective batch)."""
    micro_batch_size: int | None = None
    """Examples per forward/backward pass; gradients accumulate over `batch_size` (None = all
    at once). Halved automatically on CUDA out-of-memory."""
    max_train_examples: int | None = None
    """Cap on the balanced training set (None = all)."""
    max_val_examples: int = 512
    """Cap on the balanced validation set."""
    eval_every: int = 0
    """Evaluate every N steps; 0 = at log-spaced steps 1, 2, 4, 8, ... and at the end."""
    bucket_batches: int = 64
    """Length bucketing: sort each chunk of this many shuffled batches by prompt length
    before batching (less padding); 0 = plain shuffling."""
    patience: int = 3
    """Stop after this many evaluations without a new best validation loss."""
    checkpoint_every: int = 50
    """Save the full training state every N steps, to resume after a kill; 0 = never."""
    max_length: int = 1024
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"

    def __post_init__(self) -> None:
        bad_micro = self.micro_batch_size is not None and self.micro_batch_size < 1
        if self.lora_r < 1 or self.batch_size < 1 or self.lr <= 0 or self.epochs <= 0 or bad_micro:
            raise ValueError(f"invalid finetune settings: {self}")


def select_balanced(df: pd.DataFrame, split: str, cap: int | None, seed: int) -> pd.DataFrame:
    """Records of `split`, both characters, each character's labels balanced by undersampling
    the majority label (seed), then shuffled and cut to `cap`."""
    rng = np.random.default_rng(seed)
    parts = []
    for _, group in df[df["split"] == split].groupby("character"):
        n = group["label"].value_counts().min() if group["label"].nunique() == 2 else 0
        for _, lab in group.groupby("label"):
            parts.append(lab.iloc[np.sort(rng.choice(len(lab), size=n, replace=False))])
    out = pd.concat(parts) if parts else df.iloc[:0]
    out = out.iloc[rng.permutation(len(out))]
    return out.iloc[:cap] if cap else out


def _eval_steps(total: int, every: int) -> set[int]:
    if every > 0:
        return set(range(every, total + 1, every)) | {total}
    return {2**k for k in range(int(math.log2(max(total, 1))) + 1)} | {total}


def _lr_lambda(total: int, warmup: int):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return f


@torch.no_grad()
def _val_loss(model, tokenizer, df: pd.DataFrame, targets: torch.Tensor, max_length: int,
              batch_size: int) -> float:  # fmt: skip
    """Mean answer-token cross-entropy over `df`."""
    model.eval()
    prompts = df["prompt"].tolist()
    order = np.asarray(length_sorted(tokenizer, prompts))  # batches of similar lengths
    total, n = 0.0, 0
    for sl in tqdm(list(batches(len(df), batch_size)), desc="validation", unit="batch",
                   leave=False):  # fmt: skip
        idx = order[sl]
        part = [prompts[i] for i in idx]
        total += answer_loss_sum(model, tokenizer, part, targets[idx], max_length).item()
        n += len(idx)
    model.train()
    return total / max(n, 1)


def answer_loss_sum(
    model, tokenizer, prompts: list[str], targets: torch.Tensor, max_length: int
) -> torch.Tensor:
    """Summed cross-entropy of the answer token ids `targets` `[batch]` after each prompt, over
    the full vocabulary at the last prompt position only (bf16 autocast on CUDA)."""
    enc = encode(tokenizer, prompts, max_length)
    device = next(model.parameters()).device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        logits = _full_answer_logits(model, enc)
    return torch.nn.functional.cross_entropy(logits.float(), targets.to(device), reduction="sum")


def _full_answer_logits(model, enc) -> torch.Tensor:
    """Full-vocabulary logits at the last prompt token only, `[batch, vocab]`."""
    return model.get_base_model().get_output_embeddings()(last_hidden(model, enc))


def token_lengths(tokenizer, prompts: list[str], max_length: int) -> np.ndarray:
    """Tokens of each prompt after truncation, `[n]`."""
    ids = tokenizer(prompts, truncation=True, max_length=max_length, add_special_tokens=True)
    return np.array([len(x) for x in ids["input_ids"]], dtype=np.int64)


def epoch_order(
    n: int,
    seed: int,
    epoch: int,
    lengths: np.ndarray | None = None,
    batch_size: int = 1,
    bucket_batches: int = 0,
) -> np.ndarray:
    """Training-example order of `epoch`, `[n]`; consecutive `batch_size` slices are batches.

    A function of (seed, epoch) only, so a resumed run draws the same batches as an
    uninterrupted one. With `bucket_batches` > 0 and token `lengths` `[n]`, the shuffled order
    is cut into chunks of `bucket_batches * batch_size`, each sorted by length, so a batch
    pads little; the full batches are then shuffled (the partial one stays last).
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n)
    if not bucket_batches or lengths is None:
        return order
    chunk = bucket_batches * batch_size
    order = np.concatenate(
        [c[np.argsort(lengths[c], kind="stable")] for c in np.split(order, range(chunk, n, chunk))]
    )
    n_full = n // batch_size
    full = order[: n_full * batch_size].reshape(n_full, batch_size)[rng.permutation(n_full)]
    return np.concatenate([full.ravel(), order[n_full * batch_size :]])


def finetune(
    model_dir: str | Path,
    dataset_parquet: str | Path,
    out_adapter: str | Path,
    out_log: str | Path,
    settings: FinetuneSettings,
    checkpoint_dir: str | Path | None = None,
) -> dict:
    """Fine-tune a LoRA adapter on one dataset; write the best adapter and the training log.

    Every `settings.checkpoint_every` steps the training state goes to `checkpoint_dir`
    (default: `checkpoint/` next to `out_log`); a later call with the same settings, data and
    model resumes from it, and it is removed once the adapter is written.
    Returns a summary (best step, best validation loss, steps run, step resumed from).
    """
    from peft import LoraConfig, get_peft_model

    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else Path(out_log).parent / "checkpoint"
    key = settings_hash(asdict(settings), dataset_parquet, Path(model_dir) / MANIFEST)
    seed_everything(settings.seed)
    df = pd.read_parquet(dataset_parquet)
    train = select_balanced(df, "train", settings.max_train_examples, settings.seed)
    val = select_balanced(df, "val", settings.max_val_examples, settings.seed + 1)
    model, tok = load_model(model_dir, device=settings.device, dtype=settings.dtype)
    no_id, yes_id = answer_token_ids(tok)
    to_target = lambda labels: torch.tensor(  # noqa: E731
        [yes_id if b else no_id for b in labels], dtype=torch.long
    )
    train_y, val_y = to_target(train["label"]), to_target(val["label"])

    lora = LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=0.0,
        target_modules=list(LORA_TARGETS),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    # Adapter weights train in float32 even when the base is bf16 (paper: adapter fp32).
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        params, lr=settings.lr, betas=(0.9, settings.beta2), weight_decay=settings.weight_decay
    )
    steps_per_epoch = math.ceil(len(train) / settings.batch_size)
    total = max(1, int(round(steps_per_epoch * settings.epochs)))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, _lr_lambda(total, max(1, int(settings.warmup_fraction * total)))
    )
    eval_at = _eval_steps(total, settings.eval_every)

    prompts = train["prompt"].tolist()
    lengths = token_lengths(tok, prompts, settings.max_length)
    micro = settings.micro_batch_size or settings.batch_size

    def loss_sum(part: np.ndarray) -> torch.Tensor:
        return answer_loss_sum(model, tok, [prompts[i] for i in part], train_y[part],
                               settings.max_length)  # fmt: skip

    resumed = load_checkpoint(ckpt_dir, key)
    if resumed is None:
        log: list[dict] = [
            {"step": 0, "train_loss": float("nan"),
             "val_loss": _val_loss(model, tok, val, val_y, settings.max_length, micro), "lr": 0.0,
             "tokens_per_s": 0.0, "micro_batch_size": micro}
        ]  # fmt: skip
        best = (log[0]["val_loss"], 0, _lora_copy(model))
        bad_evals, step = 0, 0
    else:
        model.load_state_dict(resumed["lora"], strict=False)
        opt.load_state_dict(resumed["optimizer"])
        sched.load_state_dict(resumed["scheduler"])
        set_rng_state(resumed["rng"])
        log, best, bad_evals, step, micro = (
            resumed["log"], resumed["best"], resumed["bad_evals"], resumed["step"],
            resumed["micro_batch_size"],
        )  # fmt: skip
        print(f"finetune: resuming from step {step} ({ckpt_dir})", file=sys.stderr)
    start_step, order_epoch = step, -1
    bar = tqdm(total=total, initial=step, desc="finetune", unit="step")
    while step < total and bad_evals < settings.patience:
        epoch, pos = divmod(step, steps_per_epoch)
        pos *= settings.batch_size
        if epoch != order_epoch:
            order = epoch_order(len(train), settings.seed, epoch, lengths, settings.batch_size,
                                settings.bucket_batches)  # fmt: skip
            order_epoch = epoch
        idx = order[pos : pos + settings.batch_size]
        t0 = time.perf_counter()
        train_loss, micro = accumulate_gradients(loss_sum, idx, micro, params)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        dt = time.perf_counter() - t0
        row = {"step": step, "train_loss": train_loss, "val_loss": float("nan"),
               "lr": sched.get_last_lr()[0], "tokens_per_s": float(lengths[idx].sum()) / dt,
               "micro_batch_size": micro}  # fmt: skip
        bar.update(1)
        if step in eval_at:
            row["val_loss"] = _val_loss(model, tok, val, val_y, settings.max_length, micro)
            bar.set_postfix(val=f"{row['val_loss']:.4f}")
            if row["val_loss"] < best[0]:
                best, bad_evals = (row["val_loss"], step, _lora_copy(model)), 0
            else:
                bad_evals += 1
        log.append(row)
        if settings.checkpoint_every and step % settings.checkpoint_every == 0:
            save_checkpoint(ckpt_dir, {
                "key": key, "step": step, "lora": _lora_copy(model),
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "rng": rng_state(), "micro_batch_size": micro, "best": best,
                "bad_evals": bad_evals, "log": log,
            })  # fmt: skip
    bar.close()

    model.load_state_dict(best[2], strict=False)
    summary = {"best_step": best[1], "best_val_loss": best[0], "steps_run": step,
               "total_steps": total, "n_train": len(train), "n_val": len(val),
               "resumed_from_step": start_step, "settings": asdict(settings)}  # fmt: skip
    with atomic_path(out_adapter) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        (tmp / "quirkymad.json").write_text(json.dumps(summary, indent=2, default=str))
    with atomic_path(out_log) as tmp:
        pd.DataFrame(log).to_csv(tmp, index=False)
    remove_checkpoint(ckpt_dir)
    return summary


def _lora_copy(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in _lora_state(model).items()}


def _lora_state(model) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if "lora_" in k}
