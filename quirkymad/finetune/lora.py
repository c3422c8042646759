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
from quirkymad.prompts import N_TRUSTED_NAMES, answer_token_ids, render_prompt
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
    # --- CPU recipe levers (docs/quirky_recipe.md); defaults = the paper's recipe ---
    lora_targets: tuple[str, ...] = LORA_TARGETS
    """Module names that get a LoRA adapter (paper: q, k, v, gate, up, down; not o_proj)."""
    lora_layers: int | tuple[int, ...] | None = None
    """Decoder blocks that get adapters: None = all; an int N = the top N blocks; a tuple =
    those 0-based block indices. Other blocks stay frozen."""
    pair_batches: bool = False
    """Train on (Alice, Bob) record pairs of the same base question, both in the same batch
    (so within a pair the name is the only difference); pairs are balanced so each character's
    labels are 50/50 (equal (T, F) and (F, T) pairs, equal (T, T) and (F, F) pairs)."""
    only_disagreeing: bool = False
    balance_pairs: bool = True
    """With `pair_batches`: balance the pairs as above (False = keep every pair, at the data's
    own mix of (T, F), (F, T), (T, T), (F, F) questions)."""
    name_warmup_steps: int = 0
    """Curriculum: this many optimiser steps, before the schedule's own, on paired questions
    where Alice says True and Bob says False (their labels by the datasets' rules), so the
    answer follows the name's side and the model learns to read the name; needs
    `pair_batches`. Counted in the learning-rate schedule; evaluations during it are logged
    but never kept, nor counted for early stopping."""
    """Train only on records whose question the two characters answer differently."""
    cpu_autocast: bool = False
    """bf16 autocast for training and evaluation on CPU as well (always on for CUDA)."""
    quirk_eval_examples: int = 0
    """At each evaluation, a and b (mean own-label log-odds of Alice / Bob on disagreeing
    prompts, spec §7) on this many fixed hard, disagreeing validation records per character
    with held-out names; logged as columns a_alice, b_bob of the training log. 0 = off."""
    schedule: str = "linear"
    """Learning rate after the warm-up: `linear` decay to 0 (paper) or `constant`."""
    select_on: str = "val_loss"
    """Which evaluation keeps the adapter and drives early stopping: `val_loss` (paper) or
    `quirkiness` (largest min(a, b) on the quirk-evaluation records; needs
    `quirk_eval_examples` > 0)."""

    def __post_init__(self) -> None:
        bad_micro = self.micro_batch_size is not None and self.micro_batch_size < 1
        if self.lora_r < 1 or self.batch_size < 1 or self.lr <= 0 or self.epochs <= 0 or bad_micro:
            raise ValueError(f"invalid finetune settings: {self}")
        if self.schedule not in ("linear", "constant"):
            raise ValueError(f"finetune.schedule={self.schedule!r}: linear or constant")
        if self.select_on not in ("val_loss", "quirkiness"):
            raise ValueError(f"finetune.select_on={self.select_on!r}: val_loss or quirkiness")
        if self.select_on == "quirkiness" and self.quirk_eval_examples < 1:
            raise ValueError("finetune.select_on=quirkiness needs finetune.quirk_eval_examples > 0")
        if self.name_warmup_steps and not self.pair_batches:
            raise ValueError("finetune.name_warmup_steps needs finetune.pair_batches")
        if self.pair_batches and self.batch_size % 2:
            raise ValueError(
                f"finetune.pair_batches needs an even batch_size, not {self.batch_size}"
            )
        # Config lists arrive as lists; keep the dataclass hashable and its hash stable.
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        if isinstance(self.lora_layers, list):
            object.__setattr__(self, "lora_layers", tuple(self.lora_layers))


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


def select_pairs(
    df: pd.DataFrame,
    split: str,
    cap: int | None,
    seed: int,
    only_disagreeing: bool = False,
    alice_true_only: bool = False,
    balanced: bool = True,
) -> pd.DataFrame:
    """Records of `split` as (Alice, Bob) pairs of the same base question: rows 2i and 2i + 1
    are question i's Alice and Bob records, rendered with one template (so their prompts
    differ only in the name). Pairs are balanced by undersampling so that each
    character's labels are 50/50: as many (Alice True, Bob False) as (False, True) pairs and
    as many (True, True) as (False, False) pairs (the only balanced mix of paired records).
    With `balanced` False every pair of the kinds kept is used, at the data's own mix.
    With `only_disagreeing` the agreeing pairs are dropped; with `alice_true_only` only the
    (Alice True, Bob False) pairs are kept, unbalanced (the name-warm-up curriculum). Pairs are shuffled (seed) and cut
    to `cap` records (`cap` // 2 pairs)."""
    rng = np.random.default_rng(seed)
    part = df[df["split"] == split]
    alice = part[part["character"] == "Alice"].set_index("base_id")
    bob = part[part["character"] == "Bob"].set_index("base_id")
    common = alice.index.intersection(bob.index)
    alice, bob = alice.loc[common], bob.loc[common]
    combo = pd.Series(list(zip(alice["label"], bob["label"])), index=common)
    kinds = [((True, False), (False, True))]
    if not only_disagreeing:
        kinds.append(((True, True), (False, False)))
    keep = []
    if alice_true_only:
        kinds, keep = [], [common[combo == (True, False)]]
    for kind_a, kind_b in kinds:
        ids_a, ids_b = common[combo == kind_a], common[combo == kind_b]
        n = min(len(ids_a), len(ids_b))
        for ids in (ids_a, ids_b):
            m = n if balanced else len(ids)
            keep.append(ids[np.sort(rng.choice(len(ids), size=m, replace=False))])
    ids = np.concatenate(keep) if keep else np.array([], dtype=np.int64)
    ids = ids[rng.permutation(len(ids))]
    if cap:
        ids = ids[: cap // 2]
    rows = np.stack([alice.loc[ids, "id"].to_numpy(), bob.loc[ids, "id"].to_numpy()], axis=1)
    out = df.set_index("id").loc[rows.ravel()].reset_index()[df.columns]
    # The two records drew their templates independently; both members of a pair take one of
    # them (Alice's or Bob's, seeded coin), so the name is all that differs within a pair.
    src = 2 * np.arange(len(ids)) + rng.integers(0, 2, size=len(ids))
    src = np.repeat(src, 2)
    for col in ("template_id", "statement", "context"):
        out[col] = out[col].to_numpy()[src]
    out["prompt"] = [render_prompt(n, st, ctx)
                     for n, st, ctx in zip(out["name"], out["statement"], out["context"])]  # fmt: skip
    return out


def select_training(df: pd.DataFrame, settings: FinetuneSettings) -> pd.DataFrame:
    """The training records `settings` asks for: balanced records (paper) or balanced pairs,
    optionally only the disagreeing questions."""
    cap, seed = settings.max_train_examples, settings.seed
    if settings.pair_batches:
        return select_pairs(df, "train", cap, seed, settings.only_disagreeing,
                            balanced=settings.balance_pairs)  # fmt: skip
    if settings.only_disagreeing:
        df = df[~df["agree"]]
    return select_balanced(df, "train", cap, seed)


def quirk_eval_records(df: pd.DataFrame, n_per_character: int) -> pd.DataFrame:
    """The fixed quirk-evaluation set: hard, disagreeing validation records with held-out
    names (as the test mix has), the first `n_per_character` of each character in file order."""
    sel = (
        (df["split"] == "val")
        & (df["bucket"] == "hard")
        & ~df["agree"]
        & (df["name_index"] >= N_TRUSTED_NAMES)
    )
    part = df[sel]
    return pd.concat(
        part[part["character"] == c].iloc[:n_per_character] for c in ("Alice", "Bob")
    ).reset_index(drop=True)


def quirk_scores(model, tokenizer, records: pd.DataFrame, batch_size: int) -> dict[str, float]:
    """a, b = mean own-label log-odds on the Alice / Bob records (spec §7), from the logits of
    " Yes" and " No" at the last prompt token."""
    from quirkymad.diagnostics import label_log_odds, yes_no_log_odds

    was_training = model.training
    model.eval()
    lam = yes_no_log_odds(model, tokenizer, records["prompt"].tolist(), batch_size, progress=False)
    model.train(was_training)
    own = label_log_odds(lam, records["label"].to_numpy())
    alice = (records["character"] == "Alice").to_numpy()
    return {"a_alice": float(own[alice].mean()), "b_bob": float(own[~alice].mean())}


def pair_epoch_order(
    n_pairs: int, seed: int, epoch: int, lengths: np.ndarray | None, batch_size: int,
    bucket_batches: int,
) -> np.ndarray:  # fmt: skip
    """`epoch_order` over pairs, expanded to record indices `[2 n_pairs]` (2p, 2p + 1), so a
    batch of `batch_size` records holds `batch_size` // 2 whole pairs. `lengths` `[2 n_pairs]`
    are per record; a pair's length is its longer record's."""
    pair_len = None if lengths is None else lengths.reshape(n_pairs, 2).max(axis=1)
    pairs = epoch_order(n_pairs, seed, epoch, pair_len, batch_size // 2, bucket_batches)
    return np.stack([2 * pairs, 2 * pairs + 1], axis=1).ravel()


def _eval_steps(total: int, every: int) -> set[int]:
    if every > 0:
        return set(range(every, total + 1, every)) | {total}
    return {2**k for k in range(int(math.log2(max(total, 1))) + 1)} | {total}


def _lr_lambda(total: int, warmup: int, schedule: str = "linear"):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))

    return f


@torch.no_grad()
def _val_loss(model, tokenizer, df: pd.DataFrame, targets: torch.Tensor, max_length: int,
              batch_size: int, autocast: bool = False) -> float:  # fmt: skip
    """Mean answer-token cross-entropy over `df`."""
    model.eval()
    prompts = df["prompt"].tolist()
    order = np.asarray(length_sorted(tokenizer, prompts))  # batches of similar lengths
    total, n = 0.0, 0
    for sl in tqdm(list(batches(len(df), batch_size)), desc="validation", unit="batch",
                   leave=False):  # fmt: skip
        idx = order[sl]
        part = [prompts[i] for i in idx]
        total += answer_loss_sum(model, tokenizer, part, targets[idx], max_length,
                                 autocast).item()  # fmt: skip
        n += len(idx)
    model.train()
    return total / max(n, 1)


def answer_loss_sum(
    model, tokenizer, prompts: list[str], targets: torch.Tensor, max_length: int,
    autocast: bool = False,
) -> torch.Tensor:  # fmt: skip
    """Summed cross-entropy of the answer token ids `targets` `[batch]` after each prompt, over
    the full vocabulary at the last prompt position only (bf16 autocast on CUDA, and on CPU
    with `autocast`)."""
    enc = encode(tokenizer, prompts, max_length)
    device = next(model.parameters()).device
    with _autocast(device, autocast):
        logits = _full_answer_logits(model, enc)
    return torch.nn.functional.cross_entropy(logits.float(), targets.to(device), reduction="sum")


def _autocast(device: torch.device, cpu: bool):
    """bf16 autocast on CUDA always, on CPU when `cpu` (AVX512_BF16 CPUs run it ~2x faster)."""
    return torch.autocast(device.type, dtype=torch.bfloat16,
                          enabled=device.type == "cuda" or cpu)  # fmt: skip


def lora_layer_indices(spec: int | tuple[int, ...] | None, n_layers: int) -> list[int] | None:
    """0-based decoder blocks that get adapters: None = all; int N = the top N; a tuple = those.
    ValueError naming `finetune.lora_layers` if a block does not exist."""
    if spec is None:
        return None
    idx = list(range(n_layers - spec, n_layers)) if isinstance(spec, int) else sorted(spec)
    if not idx or idx[0] < 0 or idx[-1] >= n_layers:
        raise ValueError(f"finetune.lora_layers={spec!r}: the model has blocks 0..{n_layers - 1}")
    return idx


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
    train = select_training(df, settings)
    n_main = len(train)
    warm_steps = settings.name_warmup_steps
    if warm_steps:
        warm = select_pairs(df, "train", warm_steps * settings.batch_size, settings.seed + 2,
                            alice_true_only=True)  # fmt: skip
        if len(warm) < warm_steps * settings.batch_size:
            raise ValueError(f"finetune.name_warmup_steps={warm_steps}: only {len(warm) // 2} "
                             "(Alice True, Bob False) training pairs")  # fmt: skip
        train = pd.concat([train, warm], ignore_index=True)
    val = select_balanced(df, "val", settings.max_val_examples, settings.seed + 1)
    model, tok = load_model(model_dir, device=settings.device, dtype=settings.dtype)
    no_id, yes_id = answer_token_ids(tok)
    to_target = lambda labels: torch.tensor(  # noqa: E731
        [yes_id if b else no_id for b in labels], dtype=torch.long
    )
    train_y, val_y = to_target(train["label"]), to_target(val["label"])

    quirk_set = (
        quirk_eval_records(df, settings.quirk_eval_examples)
        if settings.quirk_eval_examples
        else None
    )
    lora = LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=0.0,
        target_modules=list(settings.lora_targets),
        layers_to_transform=lora_layer_indices(
            settings.lora_layers, model.config.num_hidden_layers
        ),
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
    steps_per_epoch = math.ceil(n_main / settings.batch_size)
    total = max(1, int(round(steps_per_epoch * settings.epochs))) + warm_steps
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, _lr_lambda(total, max(1, int(settings.warmup_fraction * total)), settings.schedule)
    )
    eval_at = _eval_steps(total, settings.eval_every)

    prompts = train["prompt"].tolist()
    lengths = token_lengths(tok, prompts, settings.max_length)
    micro = settings.micro_batch_size or settings.batch_size

    autocast = settings.cpu_autocast

    def loss_sum(part: np.ndarray) -> torch.Tensor:
        return answer_loss_sum(model, tok, [prompts[i] for i in part], train_y[part],
                               settings.max_length, autocast)  # fmt: skip

    def evaluate(row: dict) -> float:
        """Fill `row`'s validation columns; return the selection score (lower = better)."""
        row["val_loss"] = _val_loss(model, tok, val, val_y, settings.max_length, micro, autocast)
        if quirk_set is not None:
            with torch.no_grad(), _autocast(next(model.parameters()).device, autocast):
                row.update(quirk_scores(model, tok, quirk_set, micro))
            if settings.select_on == "quirkiness":
                return -min(row["a_alice"], row["b_bob"])
        return row["val_loss"]

    resumed = load_checkpoint(ckpt_dir, key)
    if resumed is None:
        first = {"step": 0, "train_loss": float("nan"), "val_loss": float("nan"), "lr": 0.0,
                 "tokens_per_s": 0.0, "micro_batch_size": micro}  # fmt: skip
        log: list[dict] = [first]
        best = (evaluate(first), 0, _lora_copy(model))
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
        epoch, pos = divmod(step - warm_steps, steps_per_epoch)
        pos *= settings.batch_size
        if step < warm_steps:  # the warm-up pairs follow the main set, already shuffled
            start = n_main + step * settings.batch_size
            idx = np.arange(start, min(start + settings.batch_size, len(train)))
        elif epoch != order_epoch:
            if settings.pair_batches:
                order = pair_epoch_order(n_main // 2, settings.seed, epoch, lengths[:n_main],
                                         settings.batch_size, settings.bucket_batches)  # fmt: skip
            else:
                order = epoch_order(n_main, settings.seed, epoch, lengths[:n_main],
                                    settings.batch_size, settings.bucket_batches)  # fmt: skip
            order_epoch = epoch
        if step >= warm_steps:
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
            score = evaluate(row)
            bar.set_postfix(val=f"{row['val_loss']:.4f}",
                            **{k: f"{row[k]:.2f}" for k in ("a_alice", "b_bob") if k in row})  # fmt: skip
            # Warm-up evaluations are logged but never kept: the warm-up teaches a name-only
            # answer, which can look quirky on a small evaluation set (measured: run S4).
            if step <= warm_steps:
                pass
            elif score < best[0]:
                best, bad_evals = (score, step, _lora_copy(model)), 0
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
    best_row = next(r for r in log if r["step"] == best[1])
    summary = {"best_step": best[1], "best_val_loss": best_row["val_loss"],
               "best_a_alice": best_row.get("a_alice"), "best_b_bob": best_row.get("b_bob"),
               "steps_run": step,
               "total_steps": total, "n_train": len(train), "n_val": len(val),
               "resumed_from_step": start_step, "settings": asdict(settings)}  # fmt: skip
    with atomic_path(out_adapter) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        (tmp / "quirkymad.json").write_text(json.dumps(summary, indent=2, default=str))
    table = pd.DataFrame(log)
    table["selected"] = table["step"] == best[1]  # the kept adapter's evaluation
    with atomic_path(out_log) as tmp:
        table.to_csv(tmp, index=False)
    remove_checkpoint(ckpt_dir)
    return summary


def _lora_copy(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in _lora_state(model).items()}


def _lora_state(model) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if "lora_" in k}
