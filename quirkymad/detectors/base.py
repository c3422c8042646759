"""The detector interface and registry (cupbearer `AnomalyDetector`, thinned)."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from quirkymad.core.errors import QuirkyError
from quirkymad.core.registry import LazyRegistry
from quirkymad.detectors.params import Kind

# Built-in detectors by module, imported when first looked up (a job loads only its own).
DETECTORS: LazyRegistry[type[Detector]] = LazyRegistry(
    {
        name: f"quirkymad.detectors.{name}"
        for name in (
            "mahalanobis",
            "diag_mahalanobis",
            "lof",
            "isolation_forest",
            "que",
            "flow_prior",
            "sae_l0",
            "pca_mahalanobis",
            "likelihood_ratio",
            "gaussian_em",
        )  # fmt: skip
    }
)


def register_detector(cls: type[Detector]) -> type[Detector]:
    """Class decorator: make a detector available under `cls.name`."""
    DETECTORS.register(cls.name, cls)
    return cls


class Detector(ABC):
    """Fitted on trusted features `[n, d]`; scores `[m, d] -> [m]`, higher = more anomalous.

    Subclasses set `name` and a frozen `Params` dataclass (the detector's config keys). Its
    kind is its Params' (`quirkymad.detectors.params.Kind`), copied onto the class: `offline`
    (`fit` may also see unlabelled untrusted data) and `transform` (the transform whose outputs
    it scores, if it makes sense only there: flow_prior, sae_l0).
    """

    name: ClassVar[str]
    Params: ClassVar[type]
    offline: ClassVar[bool] = Kind.offline
    transform: ClassVar[str | None] = Kind.transform

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        params = cls.__dict__.get("Params")
        if params is not None:
            cls.offline = getattr(params, "offline", cls.offline)
            cls.transform = getattr(params, "transform", cls.transform)

    def __init__(self, params: Any):
        self.params = params

    def use_transform(self, module: Any) -> None:  # noqa: B027  optional hook, default no-op
        """Called before `fit` with the fitted transform module of the layer being scored, for
        detectors that need more than its outputs (sae_l0: the latents that fired in training)."""

    def score_all_layers(self, trusted, test, untrusted=None):
        """Optional batched path: scores `[L, m]` for `test` `[L, m, d]` fitted on `trusted`
        `[L, n, d]` (and `untrusted` `[L, u, d]`), all layers at once on the GPU when present.
        Returns None when the detector has none (the caller then loops over layers); where
        defined it equals the per-layer `fit`/`score` (tests/detectors/test_batched.py)."""
        return None

    @abstractmethod
    def fit(self, trusted: np.ndarray, untrusted: np.ndarray | None = None) -> Detector:
        """Fit on `trusted` `[n, d]` (and, for offline detectors, `untrusted` `[u, d]`)."""

    @abstractmethod
    def score(self, x: np.ndarray) -> np.ndarray:
        """Anomaly scores `[m]` for `x` `[m, d]`."""


def make_detector(name: str, hparams: dict[str, Any] | None = None) -> Detector:
    """Build detector `name` from its config mapping; QuirkyError naming a bad key."""
    if name not in DETECTORS:
        raise QuirkyError(f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}")
    cls = DETECTORS[name]
    known = {f.name for f in dataclasses.fields(cls.Params)}
    unknown = set(hparams or {}) - known
    if unknown:
        raise QuirkyError(f"detectors.{name}: unknown setting(s) {sorted(unknown)}")
    try:
        return cls(cls.Params(**(hparams or {})))
    except (TypeError, ValueError) as exc:
        raise QuirkyError(f"detectors.{name}: {exc}") from exc
