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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from quirkymad.core.atomic import atomic_path
from quirkymad.core.batching import batches, encode, last_hidden, length_sorted
from quirkymad.core.integrity import read_parquet
from quirkymad.core.layers import lora_blocks
from quirkymad.core.log_odds import label_log_odds, yes_no_log_odds
from quirkymad.core.precision import bf16_autocast_enabled
from quirkymad.core.prompts import answer_token_ids
from quirkymad.core.seeding import seed_everything
from quirkymad.finetune.acceptance import acceptance, warn
from quirkymad.finetune.checkpoint import (
    load_checkpoint,
    remove_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    settings_hash,
)
from quirkymad.finetune.records import (
    epoch_order,
    pair_epoch_order,
    quirk_eval_records,
    select_balanced,
    select_pairs,
    select_training,
    token_lengths,
)
from quirkymad.finetune.settings import FinetuneSettings
from quirkymad.finetune.step import accumulate_gradients
from quirkymad.models.base import MANIFEST
from quirkymad.models.loading import load_model


def quirk_scores(model, tokenizer, records: pd.DataFrame, batch_size: int) -> dict[str, float]:
    """a, b = mean own-label log-odds on the Alice / Bob records (spec §7), from the logits of
    " Yes" and " No" at the last prompt token."""
    was_training = model.training
    model.eval()
    lam = yes_no_log_odds(model, tokenizer, records["prompt"].tolist(), batch_size, progress=False)
    model.train(was_training)
    own = label_log_odds(lam, records["label"].to_numpy())
    alice = (records["character"] == "Alice").to_numpy()
    return {"a_alice": float(own[alice].mean()), "b_bob": float(own[~alice].mean())}


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
    """bf16 autocast on CUDA always, on CPU when `cpu` and the CPU has native bf16 (AVX512_BF16
    CPUs run it ~2x faster; emulated it is ~25x slower: core/precision.py)."""
    enabled = device.type == "cuda" or bf16_autocast_enabled(device.type, cpu)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def lora_layer_indices(spec: int | tuple[int, ...] | None, n_layers: int) -> list[int] | None:
    """0-based decoder blocks that get adapters: None = all; int N = the top N; a tuple = those.
    ValueError naming `finetune.lora_layers` if a block does not exist."""
    return lora_blocks(spec, n_layers)  # torch-free, shared with `layers: adapted`


def _full_answer_logits(model, enc) -> torch.Tensor:
    """Full-vocabulary logits at the last prompt token only, `[batch, vocab]`."""
    return model.get_base_model().get_output_embeddings()(last_hidden(model, enc))


def finetune(
    model_dir: str | Path,
    dataset_parquet: str | Path,
    out_adapter: str | Path,
    out_log: str | Path,
    settings: FinetuneSettings,
    checkpoint_dir: str | Path | None = None,
) -> dict:
    """Fine-tune a LoRA adapter on one dataset; write the best adapter and the training log.

    The untrained adapter (step 0) is kept only if no later evaluation is; the kept adapter's
    `acceptance` (quirky or not, quirkymad/finetune/acceptance.py) goes into its summary, with a warning
    in the job log when it is not quirky.

    Every `settings.checkpoint_every` steps the training state goes to `checkpoint_dir`
    (default: `checkpoint/` next to `out_log`); a later call with the same settings, data and
    model resumes from it, and it is removed once the adapter is written.
    Returns a summary (best step, best validation loss, steps run, step resumed from).
    """
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else Path(out_log).parent / "checkpoint"
    key = settings_hash(asdict(settings), dataset_parquet, Path(model_dir) / MANIFEST)
    seed_everything(settings.seed)
    run = _TrainingRun(model_dir, training_records(read_parquet(dataset_parquet), settings),
                       settings)  # fmt: skip
    resumed = load_checkpoint(ckpt_dir, key)
    state = run.fresh_state() if resumed is None else run.restore(resumed)
    if resumed is not None:
        print(f"finetune: resuming from step {state.step} ({ckpt_dir})", file=sys.stderr)
    start_step = state.step
    run.train(state, lambda: save_checkpoint(ckpt_dir, run.checkpoint(state, key)))
    run.model.load_state_dict(state.best[2], strict=False)
    summary = run.summary(state, start_step)
    summary["acceptance"] = acceptance(summary)
    warn(summary["acceptance"], f"{Path(dataset_parquet).parent.name}, seed {settings.seed}")
    _write_outputs(run.model, summary, state, out_adapter, out_log)
    remove_checkpoint(ckpt_dir)
    return summary


@dataclass
class TrainingRecords:
    """What one fine-tune sees: `train` holds the main records (the first `n_main` rows), then
    the name-warm-up pairs; `val` the balanced validation records; `quirk` the fixed
    quirk-evaluation records (None when off)."""

    train: pd.DataFrame
    n_main: int
    val: pd.DataFrame
    quirk: pd.DataFrame | None


def training_records(df: pd.DataFrame, settings: FinetuneSettings) -> TrainingRecords:
    """The records `settings` asks for, from the dataset table `df`."""
    train = select_training(df, settings)
    n_main, warm_steps = len(train), settings.name_warmup_steps
    if warm_steps:
        warm = select_pairs(df, "train", warm_steps * settings.batch_size, settings.seed + 2,
                            alice_true_only=True)  # fmt: skip
        if len(warm) < warm_steps * settings.batch_size:
            raise ValueError(f"finetune.name_warmup_steps={warm_steps}: only {len(warm) // 2} "
                             "(Alice True, Bob False) training pairs")  # fmt: skip
        train = pd.concat([train, warm], ignore_index=True)
    val = select_balanced(df, "val", settings.max_val_examples, settings.seed + 1)
    n_quirk = settings.quirk_eval_examples
    return TrainingRecords(train, n_main, val, quirk_eval_records(df, n_quirk) if n_quirk else None)


def lora_model(model_dir: str | Path, settings: FinetuneSettings):
    """The base model with fresh LoRA adapters (trainable, float32) and its tokenizer."""
    from peft import LoraConfig, get_peft_model

    model, tok = load_model(model_dir, device=settings.device, dtype=settings.dtype)
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
    return model, tok


@dataclass
class _LoopState:
    """What changes from step to step (and is checkpointed): the log rows, the best
    evaluation so far `(score, step, lora weights)`, evaluations without improvement, the
    step, and the micro-batch size (halved on CUDA OOM)."""

    log: list[dict]
    best: tuple[float, int, dict]
    bad_evals: int
    step: int
    micro: int


class _TrainingRun:
    """One fine-tune's fixed parts: model, optimiser, schedule, records and their targets."""

    def __init__(self, model_dir: str | Path, records: TrainingRecords, settings: FinetuneSettings):
        self.s, self.rec = settings, records
        self.model, self.tok = lora_model(model_dir, settings)
        no_id, yes_id = answer_token_ids(self.tok)
        target = lambda labels: torch.tensor(  # noqa: E731
            [yes_id if b else no_id for b in labels], dtype=torch.long
        )
        self.train_y, self.val_y = target(records.train["label"]), target(records.val["label"])
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=settings.lr, betas=(0.9, settings.beta2),
                                     weight_decay=settings.weight_decay)  # fmt: skip
        self.steps_per_epoch = math.ceil(records.n_main / settings.batch_size)
        epochs_steps = max(1, int(round(self.steps_per_epoch * settings.epochs)))
        self.total = epochs_steps + settings.name_warmup_steps
        warmup = max(1, int(settings.warmup_fraction * self.total))
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, _lr_lambda(self.total, warmup, settings.schedule)
        )
        self.eval_at = _eval_steps(self.total, settings.eval_every)
        self.prompts = records.train["prompt"].tolist()
        self.lengths = token_lengths(self.tok, self.prompts, settings.max_length)
        self._order, self._order_epoch = np.array([], dtype=np.int64), -1

    def fresh_state(self) -> _LoopState:
        micro = self.s.micro_batch_size or self.s.batch_size
        first = {"step": 0, "train_loss": float("nan"), "val_loss": float("nan"), "lr": 0.0,
                 "tokens_per_s": 0.0, "micro_batch_size": micro}  # fmt: skip
        self.evaluate(first, micro)
        # Step 0 (the untrained adapter) is logged but scores +inf: any later kept evaluation
        # replaces it, so it is kept only when no other is (then flagged: quirkymad/finetune/acceptance.py).
        return _LoopState([first], (math.inf, 0, _lora_copy(self.model)), 0, 0, micro)

    def restore(self, saved: dict) -> _LoopState:
        self.model.load_state_dict(saved["lora"], strict=False)
        self.opt.load_state_dict(saved["optimizer"])
        self.sched.load_state_dict(saved["scheduler"])
        set_rng_state(saved["rng"])
        return _LoopState(saved["log"], saved["best"], saved["bad_evals"], saved["step"],
                          saved["micro_batch_size"])  # fmt: skip

    def checkpoint(self, state: _LoopState, key: str) -> dict:
        return {"key": key, "step": state.step, "lora": _lora_copy(self.model),
                "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
                "rng": rng_state(), "micro_batch_size": state.micro, "best": state.best,
                "bad_evals": state.bad_evals, "log": state.log}  # fmt: skip

    def batch(self, step: int) -> np.ndarray:
        """Record indices of optimiser step `step` (0-based): the warm-up pairs, which follow
        the main set already shuffled, then each epoch's order over the main records."""
        s, warm = self.s, self.s.name_warmup_steps
        if step < warm:
            start = self.rec.n_main + step * s.batch_size
            return np.arange(start, min(start + s.batch_size, len(self.rec.train)))
        epoch, pos = divmod(step - warm, self.steps_per_epoch)
        if epoch != self._order_epoch:
            lengths, n = self.lengths[: self.rec.n_main], self.rec.n_main
            if s.pair_batches:
                self._order = pair_epoch_order(n // 2, s.seed, epoch, lengths, s.batch_size,
                                               s.bucket_batches)  # fmt: skip
            else:
                self._order = epoch_order(n, s.seed, epoch, lengths, s.batch_size,
                                          s.bucket_batches)  # fmt: skip
            self._order_epoch = epoch
        return self._order[pos * s.batch_size : (pos + 1) * s.batch_size]

    def evaluate(self, row: dict, micro: int) -> float:
        """Fill `row`'s validation columns; return the selection score (lower = better)."""
        s, autocast = self.s, self.s.cpu_autocast
        row["val_loss"] = _val_loss(self.model, self.tok, self.rec.val, self.val_y,
                                    s.max_length, micro, autocast)  # fmt: skip
        if self.rec.quirk is not None:
            with torch.no_grad(), _autocast(next(self.model.parameters()).device, autocast):
                row.update(quirk_scores(self.model, self.tok, self.rec.quirk, micro))
            if s.select_on == "quirkiness":
                return -min(row["a_alice"], row["b_bob"])
        return row["val_loss"]

    def step(self, state: _LoopState) -> dict:
        """One optimiser step; returns its log row."""
        idx = self.batch(state.step)

        def loss_sum(part: np.ndarray) -> torch.Tensor:
            return answer_loss_sum(self.model, self.tok, [self.prompts[i] for i in part],
                                   self.train_y[part], self.s.max_length,
                                   self.s.cpu_autocast)  # fmt: skip

        t0 = time.perf_counter()
        train_loss, state.micro = accumulate_gradients(loss_sum, idx, state.micro, self.params)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        state.step += 1
        dt = time.perf_counter() - t0
        return {"step": state.step, "train_loss": train_loss, "val_loss": float("nan"),
                "lr": self.sched.get_last_lr()[0],
                "tokens_per_s": float(self.lengths[idx].sum()) / dt,
                "micro_batch_size": state.micro}  # fmt: skip

    def train(self, state: _LoopState, save: Callable[[], None]) -> None:
        """Steps until the planned total or early stopping; evaluates at `eval_at`, keeps the
        best evaluation in `state.best` and calls `save` every `checkpoint_every` steps."""
        s = self.s
        bar = tqdm(total=self.total, initial=state.step, desc="finetune", unit="step")
        while state.step < self.total and state.bad_evals < s.patience:
            row = self.step(state)
            bar.update(1)
            if state.step in self.eval_at:
                score = self.evaluate(row, state.micro)
                bar.set_postfix(val=f"{row['val_loss']:.4f}",
                                **{k: f"{row[k]:.2f}" for k in ("a_alice", "b_bob") if k in row})  # fmt: skip
                # Warm-up evaluations are logged but never kept: the warm-up teaches a
                # name-only answer, which can look quirky on a small evaluation set (run S4).
                if state.step <= s.name_warmup_steps:
                    pass
                elif score < state.best[0]:
                    state.best, state.bad_evals = (score, state.step, _lora_copy(self.model)), 0
                else:
                    state.bad_evals += 1
            state.log.append(row)
            if s.checkpoint_every and state.step % s.checkpoint_every == 0:
                save()
        bar.close()

    def summary(self, state: _LoopState, start_step: int) -> dict:
        best_row = next(r for r in state.log if r["step"] == state.best[1])
        return {"best_step": state.best[1], "best_val_loss": best_row["val_loss"],
                "best_a_alice": best_row.get("a_alice"), "best_b_bob": best_row.get("b_bob"),
                "steps_run": state.step, "total_steps": self.total,
                "n_train": len(self.rec.train), "n_val": len(self.rec.val),
                "resumed_from_step": start_step, "settings": asdict(self.s)}  # fmt: skip


def _write_outputs(model, summary: dict, state: _LoopState, out_adapter, out_log) -> None:
    """The kept adapter (+ `quirkymad.json` summary) and the training log, each atomically."""
    with atomic_path(out_adapter) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        (tmp / "quirkymad.json").write_text(json.dumps(summary, indent=2, default=str))
    table = pd.DataFrame(state.log)
    table["selected"] = table["step"] == state.best[1]  # the kept adapter's evaluation
    with atomic_path(out_log) as tmp:
        table.to_csv(tmp, index=False)


def _lora_copy(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in _lora_state(model).items()}


def _lora_state(model) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items() if "lora_" in k}
