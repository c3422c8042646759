"""What fitting one transform job costs, before it runs: parameters, training FLOPs, peak GPU
memory and peak host memory. Pure arithmetic, torch-free, so the planner (`quirkymad plan`)
and the `fit_transform` rule's cluster `resources:` (rules/common.smk) size a job the same way.

A job fits one module per layer, one layer after another (`transforms/stage.py`); on CUDA the
whole trusted set sits on the GPU and a fitted layer goes back to the host before the next.
The formulas are estimates from the code's tensors (float32 throughout), not measurements;
`bench/transforms.py` prints the measured CUDA peak beside this estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GiB = 2**30
CUDA_CONTEXT_BYTES = 0.5 * GiB
"""CUDA context + allocator slack (as the planner's model jobs)."""
HOST_BASE_BYTES = 2 * GiB
"""Python, torch, zarr and the job's imports."""
ADAM_BYTES_PER_PARAM = 24
"""float32 weight, gradient and Adam's two moments (16), and up to two parameter-sized
temporaries of torch's multi-tensor (foreach) Adam step (8)."""


@dataclass(frozen=True)
class TransformFit:
    """One `fit_transform` job: `n_layers` modules of `params_per_layer` parameters each."""

    params_per_layer: int
    n_layers: int
    train_flops: float
    """6 × parameters × examples seen (forward 2, backward 4), over every layer."""
    gpu_bytes: float
    """Peak GPU memory when fitted on CUDA (0 on the CPU)."""
    host_bytes: float
    """Peak host memory (the training state too when fitted on the CPU)."""

    @property
    def weight_bytes(self) -> int:
        """The fitted weights on disk (float32)."""
        return 4 * self.params_per_layer * self.n_layers


def params_per_layer(kind: str, spec: dict[str, Any], d: int) -> int:
    """Parameters of one layer's module: SAE encoder + bias, decoder + bias (`d·expansion`
    latents); flow: per MAF transform a MADE d → h → h → 2d (`transforms/flow.py`)."""
    if kind == "sae":
        n_lat = spec["expansion"] * d
        return 2 * d * n_lat + n_lat + d
    h = spec["hidden"]
    return spec["transforms"] * (3 * d * h + h * h + 2 * h + 2 * d)


def _working_bytes(kind: str, spec: dict[str, Any], d: int, n_train: int) -> float:
    """Activations of the largest pass: a training step (forward + backward ≈ 6 copies of
    the widest activation of `batch_size` rows) or the final pass over all `n_train` rows
    (loss and fired latents, ≈ 4 copies)."""
    width = spec["expansion"] * d if kind == "sae" else 2 * spec["hidden"] * spec["transforms"] + d
    rows = max(6 * spec["batch_size"], 4 * n_train)
    return 4.0 * width * rows


def transform_fit(kind: str, spec: dict[str, Any], d: int, n_layers: int, n_train: int,
                  n_records: int, on_gpu: bool) -> TransformFit:  # fmt: skip
    """Size of fitting `kind` (config `transforms.<name>`: `spec`, hyperparameters filled) on
    `n_layers` layers of width `d`, from `n_train` trusted of `n_records` records in the store.

    GPU: training state + trusted set + working activations + context. Host: imports + the
    layer's values as loaded (all records, then the trusted float32 copy) + the fitted modules
    and their serialised copy at save time, + the training state when it runs on the CPU."""
    p = params_per_layer(kind, spec, d)
    train = ADAM_BYTES_PER_PARAM * p + 4.0 * n_train * d + _working_bytes(kind, spec, d, n_train)
    host = HOST_BASE_BYTES + 4.0 * (n_records + n_train) * d + 2 * 4.0 * p * n_layers
    return TransformFit(
        params_per_layer=p,
        n_layers=n_layers,
        train_flops=6.0 * p * spec["steps"] * spec["batch_size"] * n_layers,
        gpu_bytes=train + CUDA_CONTEXT_BYTES if on_gpu else 0.0,
        host_bytes=host if on_gpu else host + train,
    )
