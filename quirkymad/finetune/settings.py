"""Config `finetune.*` as one frozen dataclass: the fine-tuning stage's settings contract.

Torch-free, so the config check and the rules can build it at plan time (its `__post_init__`
holds the cross-field rules). Fields whose metadata is `RUN_ONLY` change how a run proceeds,
not what it computes: they are kept out of the rule's params (Snakemake reruns a job whose
params change) and out of the resume hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from quirkymad.core.run_settings import RUN

RUN_ONLY = {"run_only": True}

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
    checkpoint_every: int = field(default=50, metadata=RUN_ONLY)
    """Save the full training state every N steps, to resume after a kill; 0 = never."""
    max_length: int = 1024
    seed: int = RUN.seed
    device: str = RUN.device
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
    """Train only on records whose question the two characters answer differently."""
    balance_pairs: bool = True
    """With `pair_batches`: balance the pairs as above (False = keep every pair, at the data's
    own mix of (T, F), (F, T), (T, T), (F, F) questions)."""
    name_warmup_steps: int = 0
    """Curriculum: this many optimiser steps, before the schedule's own, on paired questions
    where Alice says True and Bob says False (their labels by the datasets' rules), so the
    answer follows the name's side and the model learns to read the name; needs
    `pair_batches`. Counted in the learning-rate schedule; evaluations during it are logged
    but never kept, nor counted for early stopping."""
    cpu_autocast: bool = False
    """bf16 autocast for training and evaluation on CPU as well (always on for CUDA)."""
    quirk_eval_examples: int = 0
    """At each evaluation, a and b (mean own-label log-odds of Alice / Bob on disagreeing
    prompts, spec §7) on this many fixed hard, disagreeing validation records per character
    with the trusted-role names (not the test names); logged as columns a_alice, b_bob of the
    training log; the kept evaluation's a, b decide the `quirky` flag (quirkymad/finetune/acceptance.py).
    0 = off (quirky = unknown)."""
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


def run_only_keys() -> tuple[str, ...]:
    """Names of the `FinetuneSettings` fields marked `RUN_ONLY`."""
    return tuple(f.name for f in fields(FinetuneSettings) if f.metadata.get("run_only"))
