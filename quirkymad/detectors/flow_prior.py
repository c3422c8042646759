"""Flow prior density (spec §6.7, C7), on the outputs u `[n, d]` of the `flow` transform.

s(u) = −log p(u) = Σ_j |u_j| + d·ln 2 under the flow's i.i.d. Laplace(0, 1) prior (no Jacobian),
higher = less typical = more anomalous. cupbearer scored +log p (C7); its AUROC is 1 − ours,
and the scoring stage logs it (`report_flipped`). Nothing is fitted: the flow is the
transform stage's (`quirkymad/transforms/flow.py`).
"""

from __future__ import annotations

import math

import numpy as np

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.params import FlowPriorParams


@register_detector
class FlowPrior(Detector):
    name = "flow_prior"
    Params = FlowPriorParams
    report_flipped = True

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> FlowPrior:
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        u = np.asarray(x, dtype=np.float64)
        return np.abs(u).sum(1) + u.shape[1] * math.log(2.0)
