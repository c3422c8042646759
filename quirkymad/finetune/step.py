"""One optimiser step's gradients, accumulated over micro-batches, halving them on CUDA OOM."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np
import torch


def accumulate_gradients(
    loss_sum: Callable[[np.ndarray], torch.Tensor],
    idx: np.ndarray,
    micro_batch_size: int,
    params: Sequence[torch.Tensor],
) -> tuple[float, int]:
    """Gradients of the mean loss over the batch `idx` `[batch]`, into `params`' `.grad`.

    `loss_sum(part)` is the summed loss of the examples `part`; each micro-batch's
    `loss_sum / len(idx)` is back-propagated, so the gradients are those of the whole batch's
    mean, whatever the split. On `torch.cuda.OutOfMemoryError` the partial gradients are
    dropped, the CUDA cache emptied, the micro-batch halved and the step redone.
    Returns (mean loss, micro-batch size that fitted).
    """
    micro = max(1, min(micro_batch_size, len(idx)))
    while True:
        oom = False
        try:
            total = 0.0
            for start in range(0, len(idx), micro):
                loss = loss_sum(idx[start : start + micro])
                (loss / len(idx)).backward()
                total += loss.item()
            return total / len(idx), micro
        except torch.cuda.OutOfMemoryError:
            if micro == 1:
                raise
            oom = True
        # Outside the except block, so the failed step's tensors (held by the traceback) are
        # freed before the cache is emptied.
        if oom:
            for p in params:
                p.grad = None
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            micro //= 2
            print(f"finetune: CUDA out of memory; micro-batch halved to {micro}", file=sys.stderr)
