"""Probe shift: how much a head's mean-ablation moves a trusted-data probe, beyond how much it
moves the answer. Spec §4 ("Probe shift"), conflict C3 (probe targets = dataset labels).

For each probe layer p ∈ L with p > min(L), a logistic probe g_p (logit) on the o_proj output
of layer p at the last token is trained on trusted records' labels. Its attribution effects
e^g_{ℓ,h} = (μ_{ℓ,h} − z_{ℓ,h})·∂g_p/∂z_{ℓ,h} (features/attribution.py) for ℓ ∈ L, ℓ ≤ p give

    feature_p = concat over ℓ ∈ L, ℓ ≤ p of (e^g_{ℓ,·} − e_{ℓ,·})  ∈ R^{H·k_p},

k_p = |{ℓ ∈ L : ℓ ≤ p}|. Feature lengths differ per p; they are stored zero-padded to H·|L|
with a `valid` mask (see `assemble`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from quirkymad.core.errors import QuirkyError

# L2 strengths λ of the objective mean-BCE + λ‖w‖² (spec §4: {0} ∪ logspace(−4, 4, 10)).
L2_GRID: tuple[float, ...] = (0.0, *np.logspace(-4, 4, 10).tolist())
MAX_ITER = 1000


def _logistic(l2: float, n: int):
    from sklearn.linear_model import LogisticRegression

    # sklearn minimises C·Σ loss + ½‖w‖², i.e. mean loss + ‖w‖²/(2Cn): λ = 1/(2Cn).
    c = np.inf if l2 == 0 else 1.0 / (2 * n * l2)
    return LogisticRegression(C=c, solver="lbfgs", max_iter=MAX_ITER)


def _fit(x: np.ndarray, y: np.ndarray, l2: float):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # λ = 0 on separable data has no finite optimum; CV then prefers a positive λ.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _logistic(l2, len(y)).fit(x, y)


def fit_probe(
    x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0
) -> tuple[np.ndarray, float, float]:
    """Logistic probe on `x` `[n, d]` for labels `y` `[n]` (bool): L-BFGS, λ chosen from
    `L2_GRID` by `folds`-fold stratified CV (mean held-out log-loss), refit on all of `x`.

    Features are standardised with the training statistics and the scaling is folded back into
    the weights, so the returned probe is g(x) = w·x + b on raw `x`. Returns (w, b, λ).
    """
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=bool)
    minority = int(min(y.sum(), (~y).sum()))
    if minority < 2:
        raise QuirkyError(
            f"probe: trusted labels need ≥2 of each class, have {int(y.sum())} true / "
            f"{int((~y).sum())} false (a dataset whose easy Alice records share one label, "
            "e.g. population, cannot have features.probe_shift; docs/features.md)"
        )
    # Standardising only conditions L-BFGS; the scale stays part of the probe (folded back).
    mu, sd = x.mean(0), x.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    xs = (x - mu) / sd
    splitter = StratifiedKFold(n_splits=min(folds, minority), shuffle=True, random_state=seed)
    losses = np.zeros(len(L2_GRID))
    for train, held in splitter.split(xs, y):
        for i, l2 in enumerate(L2_GRID):
            model = _fit(xs[train], y[train], l2)
            losses[i] += log_loss(y[held], model.predict_proba(xs[held])[:, 1], labels=[0, 1])
    l2 = L2_GRID[int(np.argmin(losses))]
    model = _fit(xs, y, l2)
    w = model.coef_[0] / sd
    b = float(model.intercept_[0] - w @ mu)
    return w, b, float(l2)


# `features.probe_shift.probe_target`: what the probes predict (docs/deviations.md).
PROBE_TARGETS = ("labels", "model", "auto")
TARGET_DEFINITIONS = {
    "labels": "dataset label of trusted records (logistic; spec C3, cupbearer)",
    "model": "the model's own answer log-odds f on trusted records (ridge regression; [B1])",
}
MIN_PER_CLASS = 2  # fit_probe's stratified CV needs two records of each class


def resolve_target(target: str, labels: np.ndarray) -> str:
    """`labels` or `model` for config `probe_target` given the probe records' labels `[n]`:
    `auto` is `labels` when each class has ≥ MIN_PER_CLASS records, else `model`. An explicit
    `labels` that cannot be fit is a QuirkyError here, before any model pass."""
    if target not in PROBE_TARGETS:
        raise QuirkyError(f"features.probe_shift.probe_target: {target!r} not in {PROBE_TARGETS}")
    y = np.asarray(labels, dtype=bool)
    enough = min(int(y.sum()), int((~y).sum())) >= MIN_PER_CLASS
    if target == "auto":
        return "labels" if enough else "model"
    if target == "labels" and not enough:
        raise QuirkyError(
            f"features.probe_shift.probe_target: labels needs ≥{MIN_PER_CLASS} trusted records "
            f"of each class, have {int(y.sum())} true / {int((~y).sum())} false; use model or "
            "auto (docs/features.md)"
        )
    return target


def fit_regression_probe(
    x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0
) -> tuple[np.ndarray, float, float]:
    """Linear probe g(x) = w·x + b of a real target `y` `[n]` (the model's log-odds) on `x`
    `[n, d]`: ridge, objective mean-squared-error + λ‖w‖², λ from `L2_GRID` by `folds`-fold CV
    (mean held-out squared error), refit on all of `x`. Standardised as `fit_probe`, the
    scaling folded back. Returns (w, b, λ). Needs ≥2 records; a constant `y` gives w = 0."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    y = np.asarray(y, dtype=np.float64)
    if len(y) < 2:
        raise QuirkyError(f"probe: a regression probe needs ≥2 trusted records, have {len(y)}")
    mu, sd = x.mean(0), x.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    xs = (x - mu) / sd
    # Ridge minimises ‖y − Xw‖² + α‖w‖², i.e. mean-SE + λ‖w‖² with α = nλ (α = 0: least squares).
    losses = np.zeros(len(L2_GRID))
    splitter = KFold(n_splits=min(folds, len(y)), shuffle=True, random_state=seed)
    for train, held in splitter.split(xs):
        for i, l2 in enumerate(L2_GRID):
            model = Ridge(alpha=len(train) * l2, solver="svd").fit(xs[train], y[train])
            losses[i] += np.mean((model.predict(xs[held]) - y[held]) ** 2)
    l2 = L2_GRID[int(np.argmin(losses))]
    model = Ridge(alpha=len(y) * l2, solver="svd").fit(xs, y)
    w = model.coef_ / sd
    b = float(model.intercept_ - w @ mu)
    return w, b, float(l2)


def assemble(
    attribution: np.ndarray, probe_effects: Mapping[int, np.ndarray], layers: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Probe-shift features from `attribution` `[n, |L|, H]` and `probe_effects[p]`
    `[n, k_p, H]` (layers ℓ ∈ L, ℓ ≤ p, in order).

    Returns `values` `[n, |P|, H·|L|]` (feature_p in the first H·k_p columns, zeros after),
    `valid` `[|P|, H·|L|]` bool (the columns that are feature_p) and the probe layers P.
    Column j holds layer `layers[j // H]`, head `j % H`.
    """
    layers = list(layers)
    probe_layers = sorted(probe_effects)
    n, n_layers, heads = attribution.shape
    values = np.zeros((n, len(probe_layers), n_layers * heads), dtype=attribution.dtype)
    valid = np.zeros((len(probe_layers), n_layers * heads), dtype=bool)
    for i, p in enumerate(probe_layers):
        k = sum(ell <= p for ell in layers)
        pe = probe_effects[p]
        if pe.shape != (n, k, heads):
            raise ValueError(f"probe_effects[{p}] has shape {pe.shape}, expected {(n, k, heads)}")
        values[:, i, : k * heads] = (pe - attribution[:, :k]).reshape(n, k * heads)
        valid[i, : k * heads] = True
    return values, valid, probe_layers
