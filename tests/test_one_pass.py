"""Shared passes (issue 16): attribution and probe shift from one μ pass and one gradient pass,
quirkiness reusing the activations store's own-prompt log-odds. Each equals the per-store path
to 1e-6 in fp32 on a tiny random model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from quirkymad.diagnostics.settings import DiagnosticsSettings
from quirkymad.diagnostics.stage import evaluate_quirkiness
from quirkymad.features.extraction import (
    AttributionSettings,
    ExtractSettings,
    extract_activation_store,
    extract_attribution_store,
    extract_attribution_stores,
)

COMMON = {"batch_size": 8, "max_per_role": 20, "device": "cpu", "dtype": "float32"}
# Different layer sets: the union is 1..4, and probe shift's lowest layer (2) is not a leaf of
# the shared gradient pass while it is in its own pass.
SETTINGS = {
    "attribution": AttributionSettings(layers=[1, 3, 4], **COMMON),
    "probe_shift": AttributionSettings(layers=[2, 4], cv_folds=3, **COMMON),
}


@pytest.fixture(scope="module")
def deep_model_dir(tmp_path_factory):
    from quirkymad.models import prepare_model

    out = tmp_path_factory.mktemp("models") / "tiny-random-4"
    prepare_model("tiny-random", {"n_layers": 4, "d_model": 64}, out)
    return out


@pytest.fixture(scope="module")
def stores(deep_model_dir, addition_parquet, tmp_path_factory):
    d = tmp_path_factory.mktemp("one_pass")
    shared = {f: d / f"shared_{f}.zarr" for f in SETTINGS}
    extract_attribution_stores(deep_model_dir, None, addition_parquet, shared, SETTINGS)
    alone = {f: d / f"alone_{f}.zarr" for f in SETTINGS}
    for f, s in SETTINGS.items():
        extract_attribution_store(deep_model_dir, None, addition_parquet, alone[f], s, feature=f)
    return shared, alone


def assert_same_store(a, b):
    x, y = xr.open_zarr(a), xr.open_zarr(b)
    assert set(x.variables) == set(y.variables) and x.attrs == y.attrs
    for name in x.variables:
        u, v = x[name].values, y[name].values
        assert x[name].dims == y[name].dims and u.shape == v.shape, name
        if np.issubdtype(u.dtype, np.number):
            np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6, err_msg=name)
        else:
            assert list(u.astype(object).ravel()) == list(v.astype(object).ravel()), name


@pytest.mark.parametrize("feature", list(SETTINGS))
def test_shared_pass_equals_each_store_alone(stores, feature):
    shared, alone = stores
    assert_same_store(shared[feature], alone[feature])
    ds = xr.open_zarr(shared[feature])
    if feature == "probe_shift":
        assert list(ds["layer"].values) == [4] and ds.attrs["source_layers"] == [2, 4]
    else:
        assert list(ds["layer"].values) == [1, 3, 4]


def test_different_records_fall_back_to_separate_passes(deep_model_dir, addition_parquet, tmp_path):
    """Settings that change the records or μ cannot share a pass: each store is then its own."""
    other = {**SETTINGS, "probe_shift": AttributionSettings(layers=[2, 4], cv_folds=3,
                                                             **{**COMMON, "max_per_role": 12})}  # fmt: skip
    outs = {f: tmp_path / f"{f}.zarr" for f in other}
    extract_attribution_stores(deep_model_dir, None, addition_parquet, outs, other)
    alone = tmp_path / "alone.zarr"
    extract_attribution_store(
        deep_model_dir, None, addition_parquet, alone, other["probe_shift"], feature="probe_shift"
    )
    assert_same_store(outs["probe_shift"], alone)
    assert (
        xr.open_zarr(outs["probe_shift"]).sizes["example"]
        < xr.open_zarr(outs["attribution"]).sizes["example"]
    )


def test_quirkiness_reads_own_log_odds_from_the_activations_store(
    tiny_model_dir, tiny_adapter, addition_parquet, tmp_path
):
    adapter = tiny_adapter / "adapter"
    # max_per_role 15 < max_per_character 20: some own prompts are not in the store and run here.
    acts = tmp_path / "activations.zarr"
    extract_activation_store(tiny_model_dir, adapter, addition_parquet, acts,
                             ExtractSettings(layers="all", batch_size=8, max_per_role=15,
                                             device="cpu", dtype="float32"))  # fmt: skip
    settings = DiagnosticsSettings(
        max_per_character=20, batch_size=8, device="cpu", dtype="float32"
    )
    kw = {"labels": {"model": "tiny", "dataset": "addition"}, "settings": settings}
    evaluate_quirkiness(tiny_model_dir, adapter, addition_parquet, tmp_path / "a.parquet",
                        tmp_path / "as.parquet", activations_store=acts, **kw)  # fmt: skip
    evaluate_quirkiness(tiny_model_dir, adapter, addition_parquet, tmp_path / "b.parquet",
                        tmp_path / "bs.parquet", **kw)  # fmt: skip
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(a, b, rtol=1e-6, atol=1e-6, check_exact=False)
    sa, sb = pd.read_parquet(tmp_path / "as.parquet"), pd.read_parquet(tmp_path / "bs.parquet")
    pd.testing.assert_frame_equal(sa, sb, rtol=1e-6, atol=1e-6, check_exact=False)
    in_store = set(xr.open_zarr(acts)["example"].values.astype(object))
    own = a[a["prompt"] == "own"]
    assert 0 < own["id"].isin(in_store).sum() < len(own)


def _activations_by_autocast(model_dir, parquet, tmp_path) -> dict:
    """The activation store's values under `extract.autocast` none and bfloat16."""
    got = {}
    for mode in ("none", "bfloat16"):
        settings = ExtractSettings(layers="all", batch_size=8, max_per_role=10, device="cpu",
                                   dtype="float32", autocast=mode)  # fmt: skip
        extract_activation_store(model_dir, None, parquet, tmp_path / mode, settings)
        got[mode] = xr.open_zarr(tmp_path / mode)["activations"].values
    return got


def test_bf16_autocast_runs_in_bf16_and_stays_close(tiny_model_dir, addition_parquet, tmp_path,
                                                    monkeypatch):  # fmt: skip
    # As on a CPU with native bf16 (this test's machine may emulate it: see the next test).
    monkeypatch.setattr("quirkymad.core.precision.cpu_has_native_bf16", lambda: True)
    got = _activations_by_autocast(tiny_model_dir, addition_parquet, tmp_path)
    # The gradient pass runs under autocast too (bf16 logits are stored as float32).
    bf16 = {f: AttributionSettings(layers="all", autocast="bfloat16", **COMMON) for f in SETTINGS}
    outs = {f: tmp_path / f"bf16_{f}.zarr" for f in SETTINGS}
    extract_attribution_stores(tiny_model_dir, None, addition_parquet, outs, bf16)
    assert xr.open_zarr(outs["attribution"])["log_odds"].dtype == np.float32
    diff = np.abs(got["bfloat16"] - got["none"])
    scale = np.abs(got["none"]).max()
    # bf16 keeps 8 bits of mantissa: visibly different, but within a few % of the scale.
    assert diff.max() > 1e-6 * scale and diff.max() < 5e-2 * scale


def test_bf16_without_native_cpu_support_runs_fp32_with_one_warning(
    tiny_model_dir, addition_parquet, tmp_path, monkeypatch, caplog
):
    import torch

    from quirkymad.core import precision

    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    precision._warn_emulated_bf16.cache_clear()
    got = _activations_by_autocast(tiny_model_dir, addition_parquet, tmp_path)
    np.testing.assert_array_equal(got["bfloat16"], got["none"])
    assert sum("no native bf16" in r.getMessage() for r in caplog.records) == 1
    assert precision.bf16_autocast_enabled("cuda", True)  # GPUs are not second-guessed
    assert not precision.bf16_autocast_enabled("cpu", False)
    from quirkymad.finetune.lora import _autocast

    with _autocast(torch.device("cpu"), cpu=True):
        assert not torch.is_autocast_enabled("cpu")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    with _autocast(torch.device("cpu"), cpu=True):
        assert torch.is_autocast_enabled("cpu")


def test_cupbearer_layer_index_names_block_l(stores, deep_model_dir, addition_parquet, tmp_path):
    """`layer_index: cupbearer` (issue 18): layer ℓ is block ℓ (0-based), our layer ℓ + 1, so
    its stores equal ours one layer up, labelled one lower; layer 0 exists, layer n does not."""
    shared, _ = stores
    cup = {
        "attribution": AttributionSettings(layers=[0, 2], layer_index="cupbearer", **COMMON),
        "probe_shift": AttributionSettings(
            layers=[1, 3], cv_folds=3, layer_index="cupbearer", **COMMON
        ),  # fmt: skip
    }
    outs = {f: tmp_path / f"{f}.zarr" for f in cup}
    extract_attribution_stores(deep_model_dir, None, addition_parquet, outs, cup)
    a, ours = xr.open_zarr(outs["attribution"]), xr.open_zarr(shared["attribution"])
    assert list(a["layer"].values) == [0, 2] and "model.layers[ℓ]" in a.attrs["layer_definition"]
    assert a.attrs["settings"]["layer_index"] == "cupbearer"
    np.testing.assert_allclose(a["attribution"].values, ours["attribution"].sel(layer=[1, 3]).values,
                               rtol=1e-6, atol=1e-6)  # fmt: skip
    p, p_ours = xr.open_zarr(outs["probe_shift"]), xr.open_zarr(shared["probe_shift"])
    assert list(p["layer"].values) == [3] and p.attrs["source_layers"] == [1, 3]
    assert list(p["column_layer"].values[:4]) == [1, 1, 1, 1]
    for name in ("probe_shift", "probe_weight", "trusted_mean"):
        np.testing.assert_allclose(p[name].values, p_ours[name].values, rtol=1e-6, atol=1e-6)
    from quirkymad.core.errors import QuirkyError

    bad = {"attribution": AttributionSettings(layers=[4], layer_index="cupbearer", **COMMON)}
    with pytest.raises(QuirkyError, match=r"\[4\] out of range 0..3"):
        extract_attribution_stores(deep_model_dir, None, addition_parquet,
                                   {"attribution": tmp_path / "bad.zarr"}, bad)  # fmt: skip
