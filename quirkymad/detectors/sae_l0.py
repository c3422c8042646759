"""SAE l0 novelty (spec §6.3), on the latents z `[n, n_latents]` of the `sae` transform.

s(z) = #{j ∉ A : z_j ≠ 0}, A = the latents that fired on the SAE's training data (recorded by
the transform, passed in through `use_transform`); without a transform module, A = latents
nonzero on any trusted example given to `fit`. With `train_on: finetuned` the two coincide.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quirkymad.detectors.base import Detector, register_detector
from quirkymad.detectors.params import SAEL0Params


@register_detector
class SAEL0(Detector):
    name = "sae_l0"
    Params = SAEL0Params
    fired: np.ndarray | None = None

    def use_transform(self, module: Any) -> None:
        self.fired = module.fired.cpu().numpy().astype(bool)

    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> SAEL0:
        if self.fired is None:
            self.fired = (np.asarray(trusted) != 0).any(0)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x) != 0) & ~self.fired).sum(1).astype(np.float64)
