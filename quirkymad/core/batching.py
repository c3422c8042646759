"""Tokenising prompts into right-padded batches and reading the last prompt token."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch


def tokenize(tokenizer, prompts: Sequence[str], padding_side: str, max_length: int = 1024):
    """Tokenise a batch padded on `padding_side`, truncating over-long prompts on the left
    (the paper's recipe: the question at the end survives). The tokenizer's padding side is
    restored to "right", the default every other caller assumes."""
    tokenizer.truncation_side = "left"
    tokenizer.padding_side = padding_side
    try:
        return tokenizer(
            list(prompts),
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=max_length,
            add_special_tokens=True,
        )
    finally:
        tokenizer.padding_side = "right"


def encode(tokenizer, prompts: Sequence[str], max_length: int = 1024) -> dict[str, torch.Tensor]:
    """Right-padded `input_ids`/`attention_mask` `[batch, seq]` plus `last` `[batch]`, the index
    of each prompt's last token. Over-long prompts lose their *start* (left truncation, as in
    the paper's recipe), so the question at the end survives."""
    enc = tokenize(tokenizer, prompts, "right", max_length)
    enc = {k: enc[k] for k in ("input_ids", "attention_mask")}
    enc["last"] = enc["attention_mask"].sum(dim=1) - 1
    return enc


def batches(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


def length_sorted(tokenizer, prompts: Sequence[str]) -> list[int]:
    """Indices ordering `prompts` by token length, so each batch pads little."""
    lengths = [len(ids) for ids in tokenizer(list(prompts), add_special_tokens=True)["input_ids"]]
    return sorted(range(len(prompts)), key=lambda i: (lengths[i], i))


def last_hidden(model, enc: dict[str, torch.Tensor]) -> torch.Tensor:
    """Final (post-norm) hidden state at each prompt's last token, `[batch, d_model]`.

    Runs only the decoder: the LM head is left to the caller, so full-vocabulary logits on
    every position are never materialised. Works for a plain causal LM and for one with LoRA
    layers injected (peft).
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    device = next(base.parameters()).device
    hidden = base.get_decoder()(
        input_ids=enc["input_ids"].to(device), attention_mask=enc["attention_mask"].to(device)
    ).last_hidden_state
    return hidden[torch.arange(hidden.shape[0], device=device), enc["last"].to(device)]


def answer_logits(model, enc: dict[str, torch.Tensor], token_ids: Sequence[int]) -> torch.Tensor:
    """Logits of `token_ids` at each prompt's last token, `[batch, len(token_ids)]`: the LM
    head is applied only to the gathered positions and only for the requested tokens."""
    return head_logits(model, last_hidden(model, enc), token_ids)


def head_logits(model, hidden: torch.Tensor, token_ids: Sequence[int]) -> torch.Tensor:
    """The LM head on `hidden` `[batch, d_model]`, for `token_ids` only: `[batch, len(token_ids)]`."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = base.get_output_embeddings()
    weight = head.weight[list(token_ids)]
    out = hidden.to(weight.dtype) @ weight.T
    if getattr(head, "bias", None) is not None:
        out = out + head.bias[list(token_ids)]
    return out
