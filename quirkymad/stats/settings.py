"""The scoring stage's statistics settings: config `scoring.*`, with its defaults written once,
here (docs/statistics.md). Torch-free, so the config check fills the schema's defaults from it
at plan time (`quirkymad.workflow.config.settings_contracts`)."""

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
    n_refit: int = 20
    """Name-clustered resamples of transductive detectors (offline with `untrusted: test`),
    each refitting the detector on the resampled test mix (0 = the fixed-score interval).
    Each costs one fit of every layer (QUE on 576-wide activations: seconds on a CPU), hence
    few by default; raise it where fits are cheap (GPU, narrow features)."""

    def __post_init__(self) -> None:
        if min(self.n_bootstrap, self.n_permutations, self.n_refit) < 0:
            raise ValueError("n_bootstrap, n_permutations and n_refit must be >= 0")
        if self.name_bootstrap not in ("keep", "resample"):
            raise ValueError(
                f"name_bootstrap must be keep or resample, got {self.name_bootstrap!r}"
            )


@dataclass(frozen=True)
class ControlsSettings:
    """Config `controls.*` (issue 28, item 2; docs/statistics.md "Controls")."""

    enabled: bool = True
    """Table results/tables/controls.csv and figure `controls`: within-gender AUROCs, the
    name-gender-only AUROC, p_chance_gender (cheap: one job)."""
    base_model: bool = True
    """The negative control: every raw detector on the base model's activations of the same
    records (one extraction and one scoring job per detector per model x dataset)."""


# Library functions' defaults read from here, so the number is written once.
SCORING = ScoringSettings()
CONTROLS = ControlsSettings()

# Coverage of every interval reported (AUROC, paired differences, seed means).
LEVEL = 0.95
