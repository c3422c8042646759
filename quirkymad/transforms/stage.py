"""The transform stage: fit one transform per layer on the trusted records of a feature store.

Trusted = role `trusted` (Alice, easy, trusted names). The store is the fine-tuned model's
(`train_on: finetuned`) or the base model's on the same prompts (`train_on: base`, as the
paper's flow and SAE were trained on base-model activations).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from quirkymad.core.errors import QuirkyError
from quirkymad.core.store import open_store, strings
from quirkymad.models.loading import resolve_device
from quirkymad.transforms.base import TRANSFORMS
from quirkymad.transforms.io import save_transform

log = logging.getLogger(__name__)


def fit_transform_store(
    store: str | Path,
    feature: str,
    transform: str,
    layers: list[int],
    hparams: dict[str, Any],
    out_dir: str | Path,
    train_on: str = "finetuned",
    device: str = "cpu",
) -> dict[str, Any]:
    """Fit `transform` with `hparams` (its Params fields) on each of `layers` of `feature`'s
    trusted records in `store`, on `device` (the run's `device`: cpu, cuda or auto); write
    `out_dir` (see `transforms/io.py`). Returns the JSON info.

    The weights are saved from the CPU, so a transform fitted on CUDA loads anywhere; fitted
    layers leave the GPU at once, so its memory holds one layer's training at a time."""
    dev = resolve_device(device)
    kind = TRANSFORMS[transform]
    params = kind.Params(**hparams)
    ds = open_store(store, variable=feature)
    trusted = strings(ds, "role") == "trusted"
    if trusted.sum() < 2:
        raise QuirkyError(f"{store}: need >= 2 trusted records to fit {transform}")
    missing = sorted(set(layers) - {int(x) for x in ds["layer"].values})
    if missing:
        raise QuirkyError(
            f"{store}: transform {transform} needs layers {missing}, not in the store"
        )
    modules, losses = {}, {}
    d = None
    for layer in layers:
        x = np.asarray(ds[feature].sel(layer=layer).values[trusted], dtype=np.float32)
        x = torch.as_tensor(x.reshape(len(x), -1)).to(dev)
        d = x.shape[1]
        module = kind.fit(x, params)
        with torch.no_grad():
            losses[str(layer)] = float(kind.loss(module, x))
        log.info("%s layer %d on %s: n=%d d=%d final train loss %.6g", transform, layer, dev,
                 len(x), d, losses[str(layer)])  # fmt: skip
        modules[layer] = module.cpu()
    info = {
        "feature": feature,
        "train_on": train_on,
        "train_store": str(store),
        "n_train": int(trusted.sum()),
        "seed": params.seed,
        "final_train_loss": losses,
        # Only a CUDA fit says where it ran: CPU fits keep their transform.json byte for byte.
        **({"fit_device": str(dev)} if dev.type != "cpu" else {}),
    }
    save_transform(out_dir, kind, params, modules, d, info)
    return info
