"""Every detector's settings contract: a frozen `Params` dataclass per detector (its config
keys under `detectors.<name>`, with their defaults written once, here).

Torch-free, so the config check fills the schema's defaults from them at plan time
(`quirkymad.workflow.config.settings_contracts`) and their `__post_init__` checks run before any job.
Each Params class also says what kind of detector it configures (`Kind`): the detector classes
(`Detector.offline`, `Detector.transform`) and the plan-time lists
(`OFFLINE_DETECTORS`, `TRANSFORM_ONLY_DETECTORS`) are read from it, so the rules know a detector's kind without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from quirkymad.core.run_settings import RUN


class Kind:
    """What kind of detector a Params class configures (class attributes, not config keys)."""

    offline: ClassVar[bool] = False
    """`fit` may also see unlabelled untrusted data (transductive when that is the test mix)."""
    transform: ClassVar[str | None] = None
    """The transform whose outputs it scores, if it makes sense only there (flow_prior, sae_l0)."""


@dataclass(frozen=True)
class MahalanobisParams(Kind):
    rcond: float = 1e-3
    """Relative cut-off of the pseudo-inverse's eigenvalues."""

    def __post_init__(self) -> None:
        if not self.rcond > 0:
            raise ValueError(f"rcond must be > 0, got {self.rcond}")


@dataclass(frozen=True)
class DiagMahalanobisParams(Kind):
    min_std: float = 1e-8
    """Lower clamp of the per-dimension std (constant dimensions would divide by zero)."""

    def __post_init__(self) -> None:
        if not self.min_std > 0:
            raise ValueError(f"min_std must be > 0, got {self.min_std}")


@dataclass(frozen=True)
class LOFParams(Kind):
    k: int = 20
    """Number of neighbours."""

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")


@dataclass(frozen=True)
class IsolationForestParams(Kind):
    n_estimators: int = 20
    """Trees (cupbearer: 20)."""
    seed: int = RUN.seed
    """random_state of the forest (cupbearer sets none; we fix it for reproducibility)."""

    def __post_init__(self) -> None:
        if self.n_estimators < 1:
            raise ValueError(f"n_estimators must be >= 1, got {self.n_estimators}")


@dataclass(frozen=True)
class QUEParams(Kind):
    offline: ClassVar[bool] = True
    alpha: float = 4.0
    """Exponent scale α of the quantum-entropy weighting."""
    rcond: float = 1e-3
    """Relative eigenvalue cut-off of the whitening."""
    untrusted: Literal["test", "easy"] = "test"
    """Unlabelled set U: the hard test mix itself (transductive, as behind [B1]'s numbers) or
    the easy untrusted records (Alice + Bob untrusted names, as [B2] describes). Conflict C1."""

    def __post_init__(self) -> None:
        if not self.alpha > 0 or not self.rcond > 0:
            raise ValueError(f"alpha and rcond must be > 0, got {self.alpha}, {self.rcond}")
        if self.untrusted not in ("test", "easy"):
            raise ValueError(f"untrusted must be 'test' or 'easy', got {self.untrusted!r}")


@dataclass(frozen=True)
class FlowPriorParams(Kind):
    transform: ClassVar[str | None] = "flow"


@dataclass(frozen=True)
class SAEL0Params(Kind):
    transform: ClassVar[str | None] = "sae"


@dataclass(frozen=True)
class PCAMahalanobisParams(Kind):
    n_components: float = 10
    """k: an integer ≥ 1 = that many components; 0 < value < 1 = the fewest components whose
    eigenvalues reach that fraction of the trusted variance (scikit-learn PCA's convention).
    Capped at the covariance's numerical rank. Default 10: [B1]'s one stated PC count (its
    attribution *pcs* variant), see docs/detectors.md."""

    def __post_init__(self) -> None:
        k = self.n_components
        if not (0 < k < 1 or (k >= 1 and float(k).is_integer())):
            raise ValueError(f"n_components must be an integer >= 1 or in (0, 1), got {k}")


@dataclass(frozen=True)
class LikelihoodRatioParams(Kind):
    offline: ClassVar[bool] = True
    ridge: float = 1e-6
    """Added to the shrunk covariances' diagonal, relative to their mean variance."""
    untrusted: Literal["test", "easy"] = "test"
    """Unlabelled set U, as for QUE (C1): the hard test mix itself or the easy untrusted records."""

    def __post_init__(self) -> None:
        if not self.ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {self.ridge}")
        if self.untrusted not in ("test", "easy"):
            raise ValueError(f"untrusted must be 'test' or 'easy', got {self.untrusted!r}")


@dataclass(frozen=True)
class GaussianEMParams(Kind):
    offline: ClassVar[bool] = True
    max_iter: int = 100
    """Most EM iterations (scikit-learn GaussianMixture's default)."""
    tol: float = 1e-3
    """Stop when U's mean log-likelihood per record changes by less (scikit-learn's default)."""
    ridge: float = 1e-6
    """Added to the covariances' diagonal, relative to their mean variance (`gaussian.py`)."""
    untrusted: Literal["test", "easy"] = "test"
    """Unlabelled set U, as for QUE (C1): the hard test mix itself or the easy untrusted records."""

    def __post_init__(self) -> None:
        if self.max_iter < 1 or not self.tol > 0 or not self.ridge >= 0:
            raise ValueError(
                f"need max_iter >= 1, tol > 0, ridge >= 0; got {self.max_iter}, {self.tol}, "
                f"{self.ridge}"
            )
        if self.untrusted not in ("test", "easy"):
            raise ValueError(f"untrusted must be 'test' or 'easy', got {self.untrusted!r}")


# Detector name -> its Params (the registry's classes point at the same ones).
PARAMS: dict[str, type] = {
    "mahalanobis": MahalanobisParams,
    "diag_mahalanobis": DiagMahalanobisParams,
    "lof": LOFParams,
    "isolation_forest": IsolationForestParams,
    "que": QUEParams,
    "flow_prior": FlowPriorParams,
    "sae_l0": SAEL0Params,
    "pca_mahalanobis": PCAMahalanobisParams,
    "likelihood_ratio": LikelihoodRatioParams,
    "gaussian_em": GaussianEMParams,
}

# Detectors that also see unlabelled untrusted data; those that score one transform's outputs
# only (detector -> transform). Read by the config check, the rules and the planner.
OFFLINE_DETECTORS = frozenset(name for name, cls in PARAMS.items() if cls.offline)
TRANSFORM_ONLY_DETECTORS = {name: cls.transform for name, cls in PARAMS.items() if cls.transform}
