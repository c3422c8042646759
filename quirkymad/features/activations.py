"""Raw activations: the residual stream at the last prompt token, per layer, plus the
answer logits. Spec §4 ("Activations")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm import tqdm

from quirkymad.core.batching import answer_logits, batches, encode, length_sorted
from quirkymad.core.prompts import answer_token_ids
from quirkymad.features.hooks import last_token_residuals


@torch.no_grad()
def extract_activations(
    model, tokenizer, prompts: Sequence[str], layers: Sequence[int], batch_size: int = 32
) -> dict[str, np.ndarray]:
    """Run `prompts` through `model` and read, at each prompt's last token:

    - `activations` `[n_examples, n_layers, d_model]` float32, layers in the given order;
    - `logit_no`, `logit_yes` `[n_examples]`: logits of " No" / " Yes" (answer position).

    Prompts are processed sorted by length (less padding) and returned in input order.
    """
    no_id, yes_id = answer_token_ids(tokenizer)
    order = length_sorted(tokenizer, prompts)
    d = model.config.hidden_size
    acts = np.empty((len(prompts), len(layers), d), dtype=np.float32)
    logits = np.empty((len(prompts), 2), dtype=np.float32)
    for sl in tqdm(list(batches(len(order), batch_size)), desc="extract", unit="batch"):
        idx = order[sl]
        enc = encode(tokenizer, [prompts[i] for i in idx])
        with last_token_residuals(model, layers, enc["last"]) as got:
            out = answer_logits(model, enc, (no_id, yes_id))
        acts[idx] = torch.stack([got[ell] for ell in layers], dim=1).float().cpu().numpy()
        logits[idx] = out.float().cpu().numpy()
    return {"activations": acts, "logit_no": logits[:, 0], "logit_yes": logits[:, 1]}
