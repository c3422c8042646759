"""The model registry and the manifest every prepared model directory carries."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from quirkymad.core.atomic import atomic_path
from quirkymad.core.errors import QuirkyError

MANIFEST = "model.json"

MODELS: dict[str, type[ModelSource]] = {}


def register_model(cls: type[ModelSource]) -> type[ModelSource]:
    """Class decorator: make a model source available under `cls.name`."""
    MODELS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class ModelFacts:
    """What the workflow knows about a model before loading it: its shape (HF config.json names
    in comments), for checking layer lists at plan time and for `quirkymad plan`'s costs, and its
    cluster sizing (used by the model rules' `resources:`; a local run ignores them)."""

    n_layers: int  # num_hidden_layers
    """Decoder blocks; layer ℓ ∈ 1..n_layers is HF `hidden_states[ℓ]`."""
    d_model: int  # hidden_size
    """Residual-stream width."""
    n_heads: int  # num_attention_heads
    """Attention heads per layer (the attribution feature has one column per head)."""
    n_kv_heads: int  # num_key_value_heads
    d_ff: int  # intermediate_size
    vocab: int  # vocab_size
    tied: bool  # tie_word_embeddings
    finetune_min: int
    """Runtime of one fine-tuning job of the paper-size config on one ~80 GB GPU, minutes."""
    extract_min: int
    """Runtime of one extraction job, likewise."""
    prepared_bytes_per_param: int = 0
    """Bytes per parameter that `prepare_model` writes (0: weights stay where they are)."""

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def block_params(self) -> int:
        d, kv = self.d_model, self.n_kv_heads * self.head_dim
        return 2 * d * d + 2 * d * kv + 3 * d * self.d_ff + 2 * d

    @property
    def params(self) -> int:
        """All parameters: embeddings (+ untied LM head) + blocks + final norm."""
        emb = self.vocab * self.d_model * (1 if self.tied else 2)
        return emb + self.n_layers * self.block_params + self.d_model

    @property
    def params_b(self) -> float:
        """Parameters in billions → host memory to load the weights."""
        return self.params / 1e9

    def lora_params(self, r: int) -> int:
        """LoRA A (r × in) + B (out × r) on q, k, v, gate, up, down of every block."""
        d, kv, ff = self.d_model, self.n_kv_heads * self.head_dim, self.d_ff
        in_out = [(d, d), (d, kv), (d, kv), (d, ff), (d, ff), (ff, d)]
        return self.n_layers * sum(r * (i + o) for i, o in in_out)


@dataclass(frozen=True)
class ModelSource(ABC):
    """Where one base model comes from. Subclasses are registered under `name`.

    `settings` is the model's mapping from the config (e.g. `path`, `n_layers`).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    known_facts: ClassVar[ModelFacts]
    """The model's facts; a source whose shape depends on its settings overrides `facts`."""
    settings: dict[str, Any]

    def facts(self) -> ModelFacts:
        return self.known_facts

    @abstractmethod
    def check(self) -> None:
        """Cheap check, run before any job: raise QuirkyError naming what is missing."""

    @abstractmethod
    def tokenizer(self):
        """The model's tokenizer, without preparing the model (plan-time checks of prompts,
        e.g. a trigger phrase: `quirkymad.datasets.triggers.check_tokenizer`)."""

    @abstractmethod
    def materialise(self, out_dir: Path) -> dict[str, Any]:
        """Make the weights loadable. Return manifest fields (`weights` = a directory).

        `out_dir` is the (temporary) model directory; sources that build weights write them to
        `out_dir / "weights"`, sources that point at existing weights return their path.
        """


def _source(name: str, settings: dict[str, Any] | None) -> ModelSource:
    if name not in MODELS:
        raise QuirkyError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name](settings=dict(settings or {}))


def model_facts(name: str, settings: dict[str, Any] | None = None) -> ModelFacts:
    """Depth, width, heads and sizing of model `name` with its config `settings`."""
    return _source(name, settings).facts()


def check_available(name: str, settings: dict[str, Any] | None = None) -> None:
    """Fail fast (QuirkyError) if model `name` cannot be provided offline."""
    _source(name, settings).check()


def model_tokenizer(name: str, settings: dict[str, Any] | None = None):
    """The tokenizer of model `name` (`ModelSource.tokenizer`)."""
    return _source(name, settings).tokenizer()


def prepare_model(name: str, settings: dict[str, Any] | None, out_dir: str | Path) -> Path:
    """Prepare model `name` into `out_dir` (atomically) and return the manifest path."""
    source = _source(name, settings)
    source.check()
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        fields = source.materialise(tmp)
        weights = Path(fields.pop("weights"))
        # Weights we built live inside the directory: record them relative to it so the
        # directory can be moved; external weights keep their absolute path.
        rel = weights.relative_to(tmp) if weights.is_relative_to(tmp) else weights.resolve()
        manifest = {"model": name, "source": type(source).__name__, "weights": str(rel), **fields}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return Path(out_dir) / MANIFEST


def load_manifest(model_dir: str | Path) -> dict[str, Any]:
    """Read a prepared model directory's manifest; `weights` is made absolute."""
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST
    if not path.is_file():
        raise QuirkyError(f"{model_dir} is not a prepared model directory (no {MANIFEST})")
    manifest = json.loads(path.read_text())
    weights = Path(manifest["weights"])
    manifest["weights"] = str(weights if weights.is_absolute() else model_dir / weights)
    return manifest
