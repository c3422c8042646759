"""Flow prior density (spec; C7): s(x) = −log p_Laplace(f(x)), f a Laplace-prior MAF.

The flow (`quirkymad.transforms.flow`) is fitted on the trusted features inside `fit`; the
cached, separately configured transform stage is a follow-up (README, "Detectors").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.transforms.flow import FlowParams, fit_flow


@dataclass(frozen=True)
class FlowPriorParams:
    transforms: int = 3
    hidden: int = 128
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0


@register_detector
class FlowPrior(Detector):
    name = "flow_prior"
    Params = FlowPriorParams

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> FlowPrior:
        self.flow = fit_flow(torch.as_tensor(trusted), FlowParams(**vars(self.params)))
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return (-self.flow.prior_log_prob(torch.as_tensor(x))).double().numpy()
