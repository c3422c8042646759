"""The scoring stage's statistics settings: config `scoring.*`, with its defaults written once,
here (docs/statistics.md). Torch-free, so the config check fills the schema's defaults from it
at plan time (`quirkymad.config.settings_contracts`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScoringSettings:
    """How every AUROC row's uncertainty is computed."""

    n_bootstrap: int = 1000
    """Resamples of each interval, example-level and name-clustered."""
    name_bootstrap: str = "keep"
    """Second stage of the name-clustered interval: keep each drawn name's records (cluster
    bootstrap) or resample them (two-stage)."""
    n_permutations: int = 1000
    """Name relabellings for p_chance (0 = skip)."""

    def __post_init__(self) -> None:
        if self.n_bootstrap < 0 or self.n_permutations < 0:
            raise ValueError("n_bootstrap and n_permutations must be >= 0")
        if self.name_bootstrap not in ("keep", "resample"):
            raise ValueError(
                f"name_bootstrap must be keep or resample, got {self.name_bootstrap!r}"
            )


# Library functions' defaults read from here, so the number is written once.
SCORING = ScoringSettings()

# Coverage of every interval reported (AUROC, paired differences, seed means).
LEVEL = 0.95
