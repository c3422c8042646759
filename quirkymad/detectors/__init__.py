"""Anomaly detectors: one interface (`fit(trusted)`, `score(x)`), one registry."""

from quirkymad.detectors.base import DETECTORS, Detector, make_detector, register_detector

# Import for their registration side effect.
from quirkymad.detectors import (  # noqa: E402,F401  isort: skip
    diag_mahalanobis,
    flow_prior,
    gaussian_em,
    isolation_forest,
    likelihood_ratio,
    lof,
    mahalanobis,
    pca_mahalanobis,
    que,
    sae_l0,
)

__all__ = ["DETECTORS", "Detector", "make_detector", "register_detector"]
