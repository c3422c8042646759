"""A fitted transform on disk: one directory with `weights.safetensors` (tensor `layer{ℓ}.{name}`
per state-dict entry of the module of layer ℓ) and `transform.json` (kind, params, layers, input
width, training data, final loss per layer), written atomically."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn

from quirkymad.core.atomic import atomic_path
from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import check_weights
from quirkymad.transforms.base import TRANSFORMS, TransformKind

WEIGHTS = "weights.safetensors"
INFO = "transform.json"


def save_transform(out_dir: str | Path, kind: TransformKind, params: Any,
                   modules: dict[int, nn.Module], d: int, info: dict[str, Any]) -> None:  # fmt: skip
    """Write `modules` (layer -> fitted module for `d` inputs) and `info` to `out_dir`."""
    tensors = {
        f"layer{layer}.{key}": value.detach().cpu().contiguous()
        for layer, module in modules.items()
        for key, value in module.state_dict().items()
    }
    meta = {"transform": kind.name, "params": asdict(params), "layers": sorted(modules),
            "d": d, **info}  # fmt: skip
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        save_file(tensors, tmp / WEIGHTS)
        (tmp / INFO).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def load_transform(path: str | Path) -> tuple[TransformKind, dict[int, nn.Module], dict[str, Any]]:
    """Kind, layer -> module (eval mode) and the JSON settings of a saved transform."""
    path = Path(path)
    check_weights(path)
    try:
        meta = json.loads((path / INFO).read_text())
    except FileNotFoundError:
        raise QuirkyError(f"{path}: not a fitted transform (no {INFO})") from None
    kind = TRANSFORMS[meta["transform"]]
    params = kind.Params(**meta["params"])
    tensors = load_file(path / WEIGHTS)
    modules = {}
    for layer in meta["layers"]:
        prefix = f"layer{layer}."
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        module = kind.build(meta["d"], params)
        module.load_state_dict(state, strict=True)
        modules[int(layer)] = module.eval()
    return kind, modules, meta
