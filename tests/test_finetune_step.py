"""Gradient accumulation over micro-batches equals the whole batch's gradient, OOM included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from quirkymad.finetune.step import accumulate_gradients

X = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
Y = torch.randint(0, 3, (8,), generator=torch.Generator().manual_seed(1))


def _grads(micro: int, fail_calls: set[int] = frozenset()) -> tuple[float, int, torch.Tensor, list]:
    """Accumulated gradient of a linear model; the calls numbered in `fail_calls` raise OOM."""
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    calls: list[int] = []

    def loss_sum(part: np.ndarray) -> torch.Tensor:
        calls.append(len(part))
        if len(calls) in fail_calls:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (fake)")
        out = model(X[part])
        return torch.nn.functional.cross_entropy(out, Y[part], reduction="sum")

    loss, used = accumulate_gradients(loss_sum, np.arange(8), micro, list(model.parameters()))
    return loss, used, model.weight.grad.clone(), calls


def test_micro_batches_give_the_whole_batch_gradient():
    loss, used, grad, calls = _grads(8)
    assert used == 8 and calls == [8]
    for micro in (1, 3, 4):
        got_loss, got_used, got_grad, _ = _grads(micro)
        assert got_used == micro
        assert got_loss == pytest.approx(loss, rel=1e-6)
        torch.testing.assert_close(got_grad, grad, rtol=1e-5, atol=1e-7)


def test_out_of_memory_halves_the_micro_batch_and_redoes_the_step():
    loss, _, grad, _ = _grads(8)
    # The second micro-batch of 4 fails after the first one's backward: that partial gradient
    # must be dropped, not added to.
    got_loss, used, got_grad, calls = _grads(4, fail_calls={2})
    assert used == 2 and calls == [4, 4, 2, 2, 2, 2]
    assert got_loss == pytest.approx(loss, rel=1e-6)
    torch.testing.assert_close(got_grad, grad, rtol=1e-5, atol=1e-7)


def test_out_of_memory_at_one_example_is_raised():
    with pytest.raises(torch.cuda.OutOfMemoryError):
        _grads(1, fail_calls={1})
