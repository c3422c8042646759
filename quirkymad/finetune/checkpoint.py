"""Resumable fine-tuning: the whole training state in one atomically written file.

A checkpoint lives next to the training log (`results/{model}/{dataset}/finetune/checkpoint/`),
which is not a declared Snakemake output, so Snakemake leaves it alone when a job dies and a
rerun resumes from it. It is keyed by a hash of everything that determines the result
(settings, dataset file, model manifest), so a changed config never resumes a stale run.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from quirkymad.core.atomic import atomic_path
from quirkymad.finetune.settings import run_only_keys

STATE_FILE = "state.pt"

# Settings that change how a run proceeds but not what it computes.
_NOT_HASHED = frozenset(run_only_keys())


def settings_hash(settings: dict[str, Any], *files: str | Path) -> str:
    """sha256 of the result-determining `settings` and the bytes of `files`."""
    h = hashlib.sha256()
    kept = {k: v for k, v in sorted(settings.items()) if k not in _NOT_HASHED}
    h.update(json.dumps(kept, sort_keys=True, default=str).encode())
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()


def rng_state() -> dict[str, Any]:
    """States of every random source the training loop may draw from."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(directory: str | Path, state: dict[str, Any]) -> None:
    """Write `state` to `directory/state.pt` atomically (a kill leaves the previous one)."""
    with atomic_path(Path(directory) / STATE_FILE) as tmp:
        torch.save(state, tmp)


def load_checkpoint(directory: str | Path, key: str) -> dict[str, Any] | None:
    """The saved state if one exists with settings hash `key`, else None."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return None
    # Our own file with NumPy/Python RNG states, which weights_only loading rejects.
    state = torch.load(path, map_location="cpu", weights_only=False)
    return state if state.get("key") == key else None


def remove_checkpoint(directory: str | Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
