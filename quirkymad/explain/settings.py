"""The explain stage's settings contract: config `explain` minus its job list (`scores`), with
its defaults written once, here. Torch-free, so the config check fills the schema's defaults
from it at plan time (`quirkymad.workflow.config.settings_contracts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExplainSettings:
    """Config `explain.*` except `scores` (adding a job to the list reruns no other job)."""

    top_k: int = 5
    """Components kept per record, and directions ranked by excess score per layer."""
    layers: Any = "all"
    """'all' or a list: layers explained (layers a job did not score are skipped)."""
    flag_quantile: float = 0.95
    """A record is flagged above this quantile of the normal records' scores."""
    n_tokens: int = 8
    """Tokens listed per direction by the logit lens (each way)."""

    def __post_init__(self) -> None:
        if not 0 < self.flag_quantile < 1:
            raise ValueError(f"flag_quantile must be in (0, 1), got {self.flag_quantile}")
