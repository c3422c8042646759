"""Isolation forest (scikit-learn; spec §6.5): s = −decision_function, higher = more anomalous."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest as SkIsolationForest

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.params import IsolationForestParams


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
