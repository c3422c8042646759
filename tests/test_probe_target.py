"""Probe targets (issue 31): `features.probe_shift.probe_target` labels / model / auto. A
trusted set of one class (population's) gets the model-output target under `auto` and writes
its probe-shift store next to the attribution store; `labels` there stops before any model
pass, in one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from quirkymad.core.errors import QuirkyError
from quirkymad.datasets.selection import mad_examples
from quirkymad.features.extraction import AttributionSettings, extract_attribution_stores
from quirkymad.features.probe_shift import L2_GRID, fit_regression_probe, resolve_target

COMMON = {"batch_size": 8, "max_per_role": 20, "device": "cpu", "dtype": "float32"}


def test_resolve_target():
    both, one = np.array([1, 1, 0, 0, 1], bool), np.ones(40, bool)
    assert resolve_target("auto", both) == "labels"
    assert resolve_target("auto", one) == "model"
    assert resolve_target("auto", np.array([1, 1, 1, 0], bool)) == "model"  # 1 false < 2
    assert resolve_target("model", both) == "model"
    assert resolve_target("labels", both) == "labels"
    with pytest.raises(QuirkyError, match="probe_target: labels needs ≥2 .* 40 true / 0 false"):
        resolve_target("labels", one)
    with pytest.raises(QuirkyError, match="probe_target: 'logits' not in"):
        resolve_target("logits", both)


def test_regression_probe_recovers_a_linear_target():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 12)) * rng.uniform(0.1, 10, size=12) + 3.0
    w_true = rng.normal(size=12)
    y = x @ w_true - 2.0 + rng.normal(scale=0.01, size=200)
    w, b, l2 = fit_regression_probe(x, y, folds=5, seed=0)
    assert l2 in L2_GRID and w.shape == (12,)
    np.testing.assert_allclose(x @ w + b, y, atol=0.05)
    # A constant target (no signal) gives a constant probe, not an error.
    w0, b0, _ = fit_regression_probe(x, np.full(200, 1.5), folds=3)
    np.testing.assert_allclose(x @ w0 + b0, 1.5, atol=1e-8)


@pytest.fixture(scope="module")
def one_class_parquet(addition_parquet, tmp_path_factory):
    """The addition dataset with every trusted record's label set to True (as population's)."""
    df = pd.read_parquet(addition_parquet)
    mad = mad_examples(df, COMMON["max_per_role"])
    trusted = set(mad.loc[mad["role"] == "trusted", "id"])
    df.loc[df["id"].isin(trusted), "label"] = True
    path = tmp_path_factory.mktemp("one_class") / "data.parquet"
    df.to_parquet(path)
    check = mad_examples(pd.read_parquet(path), COMMON["max_per_role"])
    assert check.loc[check["role"] == "trusted", "label"].all()
    return path


def _settings(target: str) -> dict[str, AttributionSettings]:
    return {
        "attribution": AttributionSettings(layers=[1, 2], **COMMON),
        "probe_shift": AttributionSettings(
            layers=[1, 2], cv_folds=3, probe_target=target, **COMMON
        ),  # fmt: skip
    }


def test_one_class_trusted_set_gets_the_model_target(tiny_model_dir, one_class_parquet, tmp_path):
    outs = {f: tmp_path / f"{f}.zarr" for f in ("attribution", "probe_shift")}
    extract_attribution_stores(tiny_model_dir, None, one_class_parquet, outs, _settings("auto"))
    ps, at = xr.open_zarr(outs["probe_shift"]), xr.open_zarr(outs["attribution"])
    assert ps.attrs["probe_target"] == "model" and ps.attrs["probe_target_setting"] == "auto"
    assert "log-odds" in ps.attrs["probe_target_definition"]
    assert np.isfinite(ps["probe_shift"].values).all() and at.sizes["example"] > 0
    # The probe predicts the model's log-odds on the trusted records it was fit on.
    assert np.abs(ps["probe_weight"].values).sum() > 0


def test_two_class_trusted_set_keeps_the_labels_target(tiny_model_dir, addition_parquet, tmp_path):
    outs = {"probe_shift": tmp_path / "probe_shift.zarr"}
    settings = {"probe_shift": _settings("auto")["probe_shift"]}
    extract_attribution_stores(tiny_model_dir, None, addition_parquet, outs, settings)
    assert xr.open_zarr(outs["probe_shift"]).attrs["probe_target"] == "labels"


def test_labels_target_on_one_class_stops_before_the_model(one_class_parquet, tmp_path):
    # No model directory at all: the error must come before the model is loaded.
    outs = {f: tmp_path / f"{f}.zarr" for f in ("attribution", "probe_shift")}
    with pytest.raises(QuirkyError, match="probe_target: labels needs"):
        extract_attribution_stores(
            tmp_path / "no-model", None, one_class_parquet, outs, _settings("labels")
        )
    assert not any(p.exists() for p in outs.values())


def test_labels_target_on_a_built_one_class_dataset_stops_at_plan_time(one_class_parquet, tmp_path):
    from quirkymad.workflow.config import _check_probe_target

    built = tmp_path / "results" / "datasets" / "addition"
    built.mkdir(parents=True)
    (built / "data.parquet").write_bytes(one_class_parquet.read_bytes())
    config = {
        "datasets": {"addition": {}, "population": {}},  # population not built: the job decides
        "extract": {"max_per_role": COMMON["max_per_role"]},
        "features": {"probe_shift": {"probe_target": "labels", "mean_cap": 1200}},
    }
    with pytest.raises(QuirkyError, match=r"^c: datasets.addition: features.probe_shift.probe"):
        _check_probe_target(config, "c", tmp_path)
    # Not built yet: population's known fact decides; the built addition would pass with labels.
    (built / "data.parquet").unlink()
    with pytest.raises(QuirkyError, match=r"^c: datasets.population: .*share one label"):
        _check_probe_target(config, "c", tmp_path)
    del config["datasets"]["population"]
    _check_probe_target(config, "c", tmp_path)
    config["datasets"]["population"] = {}
    for target in ("auto", "model"):
        config["features"]["probe_shift"]["probe_target"] = target
        _check_probe_target(config, "c", tmp_path)
