"""Run-wide settings: config `seed`, `device` and `layers`, with their defaults written once,
here. Every stage's settings dataclass that carries one of them takes its default from `RUN`,
and the config check fills the schema's defaults from it (`quirkymad.workflow.config.settings_contracts`).
Torch-free: Snakemake reads it when it plans the DAG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunSettings:
    seed: int = 0
    """Seed of every random draw (data, fine-tuning, probes, transforms, bootstrap)."""
    device: str = "auto"
    """auto (CUDA if present, else CPU), cpu, cuda or cuda:N."""
    layers: Any = "all"
    """Residual layers read: 'all' (1..n), 'auto' (the paper's 1, 4, ...) or a list."""


RUN = RunSettings()
