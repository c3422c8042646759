"""Anomaly detectors: one interface (`fit(trusted)`, `score(x)`), one registry.

Each detector's module is imported when the registry first hands it out (`make_detector`,
`DETECTORS[name]`), so importing this package loads none of them.
"""

from quirkymad.detectors.base import DETECTORS, Detector, make_detector, register_detector

__all__ = ["DETECTORS", "Detector", "make_detector", "register_detector"]
