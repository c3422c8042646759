"""Isolation forest (scikit-learn; spec §6.5): s = −decision_function, higher = more anomalous."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import IsolationForest as SkIsolationForest

from quirkymad.detectors.base import Detector, register_detector


@dataclass(frozen=True)
class IsolationForestParams:
    n_estimators: int = 20
    """Trees (cupbearer: 20)."""
    seed: int = 0
    """random_state of the forest (cupbearer sets none; we fix it for reproducibility)."""

    def __post_init__(self) -> None:
        if self.n_estimators < 1:
            raise ValueError(f"n_estimators must be >= 1, got {self.n_estimators}")


@register_detector
class IsolationForest(Detector):
    name = "isolation_forest"
    Params = IsolationForestParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> IsolationForest:
        self.forest = SkIsolationForest(
            n_estimators=self.params.n_estimators, random_state=self.params.seed
        ).fit(np.asarray(trusted, dtype=np.float32))
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return -self.forest.decision_function(np.asarray(x, dtype=np.float32)).astype(np.float64)
