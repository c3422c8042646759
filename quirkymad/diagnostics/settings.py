"""The quirkiness diagnostics' settings contract: config `diagnostics.*` plus the run's device
and the extraction's autocast, with defaults written once, here. Torch-free, so the config
check fills the schema's defaults from it at plan time (`quirkymad.workflow.config.settings_contracts`)."""

from __future__ import annotations

from dataclasses import dataclass

from quirkymad.core.run_settings import RUN


@dataclass(frozen=True)
class DiagnosticsSettings:
    """How `quirkymad.diagnostics.stage.evaluate_quirkiness` scores the hard test records."""

    max_per_character: int = 400
    """Hard test records per character (Alice, Bob) scored on own and opposing prompts."""
    batch_size: int = 32
    dtype: str = "auto"
    device: str = RUN.device
    autocast: str = "none"
    """As `extract.autocast`: own-prompt log-odds are read from the activations store, so the
    opposing prompts run at the same precision."""

    def __post_init__(self) -> None:
        if self.max_per_character < 1 or self.batch_size < 1:
            raise ValueError("max_per_character and batch_size must be >= 1")
