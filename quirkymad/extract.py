"""The extraction stage: dataset + model (+ adapter) → a feature store per feature."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quirkymad.features.activations import extract_activations
from quirkymad.features.hooks import n_layers as count_layers
from quirkymad.layers import resolve_layers
from quirkymad.models import load_manifest, load_model
from quirkymad.selection import mad_examples
from quirkymad.store import to_storage_dtype, write_store


@dataclass(frozen=True)
class ExtractSettings:
    """Config `extract.*` plus the resolved layer spec."""

    layers: Any = "all"
    """'all', 'auto' or a list of layer indices (1..n_layers)."""
    batch_size: int = 32
    max_per_role: int = 4000
    """Cap per MAD role (trusted, untrusted_*, test_*), spec §2.3."""
    store_dtype: str = "float32"
    """float32 or float16 (checked for overflow first); Zarr v3 has no bfloat16."""
    device: str = "auto"
    dtype: str = "auto"


def dir_hash(path: str | Path) -> str:
    """sha256 over the files of a directory (names and bytes), for provenance."""
    h = hashlib.sha256()
    for f in sorted(Path(path).rglob("*")):
        if f.is_file():
            h.update(f.relative_to(path).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def extract_activation_store(
    model_dir: str | Path,
    adapter_dir: str | Path | None,
    dataset_parquet: str | Path,
    out_store: str | Path,
    settings: ExtractSettings,
    provenance: dict[str, Any] | None = None,
    roles: Sequence[str] | None = None,
) -> None:
    """Write the `activations` store: `activations` `(example, layer, d_model)` and the answer
    logits `logit_no`, `logit_yes`, `log_odds` `(example,)` for the MAD records (only those of
    `roles` if given, e.g. the trusted ones for a base-model store that trains transforms)."""
    df = mad_examples(pd.read_parquet(dataset_parquet), settings.max_per_role)
    if roles is not None:
        df = df[df["role"].isin(list(roles))].reset_index(drop=True)
    model, tok = load_model(model_dir, adapter_dir, settings.device, settings.dtype)
    layers = resolve_layers(settings.layers, count_layers(model))
    out = extract_activations(model, tok, df["prompt"].tolist(), layers, settings.batch_size)
    ids = df["id"].tolist()
    acts = to_storage_dtype(out["activations"], settings.store_dtype, "activations", layers, ids)
    log_odds = out["logit_yes"] - out["logit_no"]
    manifest = load_manifest(model_dir)
    attrs = {
        "feature": "activations",
        "model": manifest["model"],
        "model_hf_id": manifest.get("hf_id"),
        "adapter_sha256": dir_hash(adapter_dir) if adapter_dir else None,
        "layers": layers,
        "layer_definition": "HF hidden_states[layer]: residual stream entering block `layer`",
        "token_position": "last prompt token (the final '?')",
        "model_dtype": str(next(model.parameters()).dtype),
        "settings": asdict(settings),
        **(provenance or {}),
    }
    write_store(
        out_store,
        {
            "activations": (("example", "layer", "d_model"), acts),
            "logit_no": (("example",), out["logit_no"]),
            "logit_yes": (("example",), out["logit_yes"]),
            "log_odds": (("example",), log_odds.astype(np.float32)),
        },
        df,
        layers,
        attrs,
    )
