"""A tiny random Llama for tests and dry runs: real architecture, random weights.

Built with `from_config` (default 2 layers, d=64, 4 heads) and a small byte-level BPE tokenizer trained
on rendered quirky prompts, so " Yes" and " No" are single tokens as in the real models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quirkymad.core.prompts import ALICE_NAMES, ANSWERS, BOB_NAMES, render_prompt
from quirkymad.core.run_settings import RUN
from quirkymad.models.base import ModelFacts, ModelSource, register_model


def _corpus(n: int = 400) -> list[str]:
    import random

    rng = random.Random(0)
    lines = []
    for i in range(n):
        name = (ALICE_NAMES + BOB_NAMES)[i % 32]
        a, b = rng.randrange(10**4), rng.randrange(10**4)
        op = rng.choice("+-*")
        statement = f"{a} {op} {b} = {rng.randrange(10**6)}."
        lines.append(render_prompt(name, statement) + ANSWERS[bool(i % 2)])
    return lines


# The tiny model's heads and tokenizer size: one place, read by `facts()` and the builders.
TINY_HEADS = 4
TINY_VOCAB = 512


def build_tokenizer(vocab_size: int = TINY_VOCAB):
    """A deterministic byte-level BPE tokenizer as a `PreTrainedTokenizerFast`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )


def build_tiny_model(n_layers: int, d_model: int, n_heads: int = TINY_HEADS, seed: int = 0):
    """(model, tokenizer): a random LlamaForCausalLM with `n_layers` layers of width `d_model`
    and `n_heads` attention heads (half as many key/value heads)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=d_model,
        intermediate_size=2 * d_model,
        num_hidden_layers=n_layers,
        num_attention_heads=n_heads,
        num_key_value_heads=n_heads // 2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.eos_token_id,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config), tok


@register_model
class TinyRandom(ModelSource):
    name = "tiny-random"
    description = "random Llama (default 2 layers, d=64) for tests; learns nothing useful"

    def facts(self) -> ModelFacts:
        d_model = int(self.settings.get("d_model", 64))
        # As build_tiny_model builds it: half as many KV heads, d_ff = 2 d, tied embeddings.
        return ModelFacts(
            n_layers=int(self.settings.get("n_layers", 2)),
            d_model=d_model,
            n_heads=TINY_HEADS,
            n_kv_heads=TINY_HEADS // 2,
            d_ff=2 * d_model,
            vocab=TINY_VOCAB,
            tied=True,
            finetune_min=60,
            extract_min=30,
            prepared_bytes_per_param=4,
        )

    def check(self) -> None:
        return None

    def tokenizer(self):
        return build_tokenizer()

    def materialise(self, out_dir: Path) -> dict[str, Any]:
        facts = self.facts()
        model, tok = build_tiny_model(
            facts.n_layers,
            facts.d_model,
            facts.n_heads,
            seed=int(self.settings.get("seed", RUN.seed)),
        )
        weights = out_dir / "weights"
        model.save_pretrained(weights, safe_serialization=True)
        tok.save_pretrained(weights)
        return {"weights": weights, "hf_id": None}
