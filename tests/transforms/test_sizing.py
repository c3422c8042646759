"""transforms/sizing.py: the parameter count is the real modules', and the memory terms grow
with what they claim to count (the planner and the rule's resources read them)."""

from __future__ import annotations

import pytest

from quirkymad.transforms import TRANSFORMS
from quirkymad.transforms.sizing import CUDA_CONTEXT_BYTES, params_per_layer, transform_fit

SPECS = {
    "flow": {"transforms": 2, "hidden": 24, "steps": 10, "batch_size": 32},
    "sae": {"expansion": 3, "k": 4, "steps": 10, "batch_size": 32},
}


@pytest.mark.parametrize("kind", ["flow", "sae"])
def test_parameter_count_is_the_modules(kind):
    spec, d = SPECS[kind], 40
    module = TRANSFORMS[kind].build(d, TRANSFORMS[kind].Params(**spec))
    assert params_per_layer(kind, spec, d) == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("kind", ["flow", "sae"])
def test_gpu_and_host_bytes(kind):
    spec, d = SPECS[kind], 64
    gpu = transform_fit(kind, spec, d, 2, n_train=500, n_records=2000, on_gpu=True)
    cpu = transform_fit(kind, spec, d, 2, n_train=500, n_records=2000, on_gpu=False)
    p = gpu.params_per_layer
    assert cpu.gpu_bytes == 0 and gpu.gpu_bytes > 16 * p + CUDA_CONTEXT_BYTES
    # on the CPU the training state moves to host memory
    assert cpu.host_bytes == pytest.approx(gpu.host_bytes + gpu.gpu_bytes - CUDA_CONTEXT_BYTES)
    assert gpu.weight_bytes == 4 * p * 2
    assert gpu.train_flops == 6 * p * spec["steps"] * spec["batch_size"] * 2
    bigger = transform_fit(kind, spec, d, 2, n_train=5000, n_records=20000, on_gpu=True)
    assert bigger.gpu_bytes > gpu.gpu_bytes and bigger.host_bytes > gpu.host_bytes
