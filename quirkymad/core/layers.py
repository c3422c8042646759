"""Which layers to read. Layer ℓ ∈ 1..n = HF `hidden_states[ℓ]` (see features/hooks.py).

How a feature's layers are found is written here once and read by the config check, the rules
(rules/common.smk), the planner and extraction: its own `features.<f>.layers`, else the run's
`layers` (`feature_layer_spec`); numbered 0..n−1 with `layer_index: cupbearer` (`first_layer`);
probe shift scores the probe layers, all but the lowest (`probe_layers`, `scored_layers`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from quirkymad.core.errors import QuirkyError

# `layers: adapted` needs the fine-tune's `finetune.lora_layers`; callers without it pass this.
NO_LORA = object()

# `features.<attribution-type>.layer_index`: how a layer label ℓ names a decoder block
# (features/attribution.py: LAYER_DEFINITIONS). The first is the default.
LAYER_INDEX = ("ours", "cupbearer")


def first_layer(layer_index: str | None = None) -> int:
    """The lowest layer label of an indexing: 1 (ours, 1..n; also when not set) or 0
    (cupbearer, 0..n−1)."""
    if layer_index is not None and layer_index not in LAYER_INDEX:
        raise ValueError(f"layer_index {layer_index!r} not in {LAYER_INDEX}")
    return 0 if layer_index == "cupbearer" else 1


def feature_layer_spec(config: dict[str, Any], feature: str) -> tuple[str, Any, int]:
    """(config key, layer spec, first label) of feature `feature`'s store: its own
    `features.<feature>.layers`, else the run's `layers` (the activations always read the run's),
    labelled from `first_layer` of its `layer_index`. The spec is as written (may be `"auto"`,
    `"adapted"`, ...): `feature_layers` resolves it for a model's depth."""
    own = {} if feature == "activations" else (config.get("features") or {}).get(feature) or {}
    first = first_layer(own.get("layer_index"))
    if own.get("layers") is not None:
        return f"features.{feature}.layers", own["layers"], first
    return "layers", config["layers"], first


def feature_layers(
    config: dict[str, Any], feature: str, n_layers: int, model: str = "this model"
) -> list[int]:
    """The layers of feature `feature`'s store for a model of depth `n_layers` (the store's
    source layers L; probe shift scores `probe_layers(L)`)."""
    key, spec, first = feature_layer_spec(config, feature)
    return resolve_layers(spec, n_layers, key, model, first,
                          lora_layers=config["finetune"]["lora_layers"])  # fmt: skip


def probe_layers(layers: Sequence[int]) -> list[int]:
    """Probe shift's probe layers P of its source layers L (sorted): a probe per p ∈ L with
    p > min(L), i.e. all but the lowest (features/probe_shift.py)."""
    return list(layers)[1:]


def scored_layers(feature: str, layers: Sequence[int]) -> list[int]:
    """The layers a store of `feature` holds scores for, from its source layers `layers`."""
    return probe_layers(layers) if feature == "probe_shift" else list(layers)


def lora_blocks(spec: int | Sequence[int] | None, n_layers: int) -> list[int] | None:
    """0-based decoder blocks `finetune.lora_layers` adapts: None = all (returned as None); int
    N = the top N; a list = those. ValueError naming the key if a block does not exist."""
    if spec is None:
        return None
    idx = list(range(n_layers - spec, n_layers)) if isinstance(spec, int) else sorted(spec)
    if not idx or idx[0] < 0 or idx[-1] >= n_layers:
        raise ValueError(f"finetune.lora_layers={spec!r}: the model has blocks 0..{n_layers - 1}")
    return idx


def adapted_layers(n_layers: int, lora_layers: int | Sequence[int] | None, first: int = 1):
    """`layers: adapted`: the residual layers after the lowest adapted block b0, i.e. those the
    adapter can change (`hidden_states[ℓ]` for ℓ ≤ b0 is the base model's): b0+1..n (first=1),
    or the blocks b0..n−1 in cupbearer's 0-based numbering (first=0). Fixed by the fine-tune's
    `lora_layers` and the depth before any result is seen (issue 28): SmolLM2-135M (30 blocks)
    with lora_layers 10 → 21..30; all blocks adapted (None) → every layer."""
    blocks = lora_blocks(lora_layers, n_layers)
    b0 = 0 if blocks is None else blocks[0]
    return list(range(b0 + first, n_layers + first))


def resolve_layers(
    spec: str | Sequence[int],
    n_layers: int,
    key: str = "layers",
    model: str = "this model",
    first: int = 1,
    lora_layers: int | Sequence[int] | None | object = NO_LORA,
) -> list[int]:
    """`"all"` → 1..n; `"auto"` → the paper's 1, 1+s, ..., ≤ n−1 with s = max(1, (n−2)//8)
    (cupbearer `run_atp_detector`: 32 layers → 1, 4, ..., 31); `"adapted"` → `adapted_layers`
    of the fine-tune's `lora_layers` (QuirkyError if the caller has none); a list is checked to
    be in 1..n. `key` and `model` name the config key and the model in error messages.
    `first=0` numbers the n layers 0..n−1 instead (cupbearer's block index,
    `features.attribution.layer_index`): `"all"` and the range check shift, `"auto"` does not.
    """
    last = first + n_layers - 1
    if spec == "adapted":
        if lora_layers is NO_LORA:
            raise QuirkyError(f"{key}: 'adapted' needs finetune.lora_layers to be resolved "
                              "(quirkymad.workflow.config.concrete_layers)")  # fmt: skip
        try:
            return adapted_layers(n_layers, lora_layers, first)
        except ValueError as exc:
            raise QuirkyError(f"{key}: adapted: {exc} ({model})") from None
    if spec == "all":
        return list(range(first, last + 1))
    if spec == "auto":
        step = max(1, (n_layers - 2) // 8)
        return list(range(1, n_layers, step))
    if isinstance(spec, str):
        raise QuirkyError(f"{key}: {spec!r} must be 'all', 'auto', 'adapted' or a list of integers")
    layers = [int(x) for x in spec]
    bad = [x for x in layers if not first <= x <= last]
    if bad:
        raise QuirkyError(f"{key}: {bad} out of range {first}..{last} for {model}")
    if len(set(layers)) != len(layers):
        raise QuirkyError(f"{key}: {layers} has duplicates")
    return sorted(layers)


def transform_layers(
    spec: str | Sequence[int], n_layers: int, key: str = "layers", model: str = "this model"
) -> list[int]:
    """Layers of a transform: `"auto"` → round(23n/32), round(29n/32) (spec §4: the paper's SAE
    and flow layers 23, 29 of 32 scaled to depth n, half rounded up; 30 layers → 22, 27); a list
    is checked and sorted as by `resolve_layers`."""
    if spec == "auto":
        return sorted({math.floor(f * n_layers / 32 + 0.5) for f in (23, 29)})
    return resolve_layers(spec, n_layers, key, model)
