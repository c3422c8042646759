"""SAE l0 novelty (spec): number of top-k SAE latents active on x that never fired on the
trusted training features. The SAE (`quirkymad.transforms.sae`) is fitted inside `fit`; the
cached transform stage is a follow-up (README, "Detectors").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.transforms.sae import SAEParams, fit_sae


@dataclass(frozen=True)
class SAEL0Params:
    expansion: int = 8
    k: int = 32
    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0


@register_detector
class SAEL0(Detector):
    name = "sae_l0"
    Params = SAEL0Params

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> SAEL0:
        self.sae = fit_sae(torch.as_tensor(trusted), SAEParams(**vars(self.params)))
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.sae.l0_novelty(torch.as_tensor(x).float()).double().numpy()
