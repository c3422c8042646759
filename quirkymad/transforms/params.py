"""Every transform's settings contract: a frozen `Params` dataclass per transform kind (its
config keys under `transforms.<name>` other than the wiring keys `layers`, `detectors` and
`train_on`), with their defaults written once, here.

Torch-free, so the config check fills the schema's defaults from them at plan time
(`quirkymad.workflow.config.settings_contracts`) and their `__post_init__` checks run before any job.
"""

from __future__ import annotations

from dataclasses import dataclass

from quirkymad.core.run_settings import RUN


@dataclass(frozen=True)
class TrainingParams:
    """The Adam loop every transform trains with (`transforms.base.train_steps`)."""

    steps: int = 300
    """Adam updates."""
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = RUN.seed

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.steps < 0 or not self.lr > 0:
            raise ValueError(f"need steps >= 0 and lr > 0, got {self.steps}, {self.lr}")


@dataclass(frozen=True)
class FlowParams(TrainingParams):
    transforms: int = 2
    """Affine autoregressive transforms of the MAF."""
    hidden: int = 64
    """Units of each of the two hidden layers of every MADE."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("transforms", "hidden"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")


@dataclass(frozen=True)
class SAEParams(TrainingParams):
    expansion: int = 4
    """Latents per input dimension (EleutherAI's Llama SAE: 64)."""
    k: int = 16
    """Active latents per example (EleutherAI: 32)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("expansion", "k"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")


# Transform name -> its Params (the registered kinds point at the same ones).
PARAMS: dict[str, type] = {"flow": FlowParams, "sae": SAEParams}
