"""The answer's log-odds, written once for the fine-tune's quirk evaluation and the
diagnostics stage: λ = logit(" Yes") − logit(" No") at each prompt's last token
(`yes_no_log_odds`), and the log-odds of a label from it (`label_log_odds`: +λ for True, −λ
for False). The diagnostics' quantities built on them are `quirkymad/diagnostics/stage.py`'s.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from quirkymad.core.batching import answer_logits, batches, encode
from quirkymad.core.prompts import answer_token_ids


@torch.no_grad()
def yes_no_log_odds(
    model, tokenizer, prompts: list[str], batch_size: int, progress: bool = True
) -> np.ndarray:
    """λ = logit(" Yes") − logit(" No") at each prompt's last token, `[n]`."""
    no_id, yes_id = answer_token_ids(tokenizer)
    out = np.empty(len(prompts))
    parts = list(batches(len(prompts), batch_size))
    for sl in tqdm(parts, desc="quirkiness", unit="batch", disable=not progress):
        logits = answer_logits(model, encode(tokenizer, prompts[sl]), (no_id, yes_id)).float()
        out[sl] = (logits[:, 1] - logits[:, 0]).cpu().numpy()
    return out


def label_log_odds(lam: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Log-odds of `label` (bool `[n]`) given λ `[n]`."""
    return np.where(np.asarray(label, dtype=bool), lam, -lam)
