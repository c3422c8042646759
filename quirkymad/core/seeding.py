"""Seeding every source of randomness the workflow uses."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(threads: int | None) -> None:
    """Use exactly the cores Snakemake gave the job (it may run jobs side by side)."""
    if threads:
        torch.set_num_threads(max(1, int(threads)))
