"""The attribution and probe-shift stores: layout, provenance, values, and how scoring reads
them (only the valid columns of a padded feature)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from quirkymad.core.store import write_store
from quirkymad.datasets.selection import mad_examples
from quirkymad.features.attribution import LAYER_DEFINITION, attribution_effects
from quirkymad.features.extraction import AttributionSettings, extract_attribution_store
from quirkymad.features.probe_shift import L2_GRID, assemble
from quirkymad.models import load_model
from quirkymad.scoring.stage import score_store
from quirkymad.stats.settings import ScoringSettings

SETTINGS = AttributionSettings(layers="all", batch_size=8, max_per_role=20, device="cpu")


@pytest.fixture(scope="module")
def stores(tiny_model_dir, tiny_adapter, addition_parquet, tmp_path_factory):
    d = tmp_path_factory.mktemp("stores")
    for feature in ("attribution", "probe_shift"):
        extract_attribution_store(
            tiny_model_dir,
            tiny_adapter / "adapter",
            addition_parquet,
            d / f"{feature}.zarr",
            SETTINGS,
            feature=feature,
        )
    return d


def test_attribution_store_layout_and_values(
    stores, tiny_model_dir, tiny_adapter, addition_parquet
):
    ds = xr.open_zarr(stores / "attribution.zarr")
    assert ds["attribution"].dims == ("example", "layer", "head")
    assert ds["attribution"].shape[1:] == (2, 4) and list(ds["layer"].values) == [1, 2]
    assert ds.attrs["feature"] == "attribution" and ds.attrs["layer_definition"] == LAYER_DEFINITION
    assert len(ds.attrs["adapter_sha256"]) == 64 and ds.attrs["settings"]["mean_cap"] == 1200
    role = ds["role"].values.astype(object)
    assert ds.attrs["n_trusted_mean"] == (role == "trusted").sum()
    # Recomputed directly with the stored μ: same values (the store path adds nothing else).
    model, tok = load_model(tiny_model_dir, tiny_adapter / "adapter", device="cpu")
    df = mad_examples(pd.read_parquet(addition_parquet), 20)
    assert list(df["id"]) == list(ds["example"].values.astype(object))
    want = attribution_effects(model, tok, df["prompt"].tolist(), [1, 2], ds["trusted_mean"].values)
    np.testing.assert_allclose(ds["attribution"].values, want["attribution"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        ds["log_odds"].values, want["logit_yes"] - want["logit_no"], atol=1e-5
    )


def test_probe_shift_store_layout_and_values(
    stores, tiny_model_dir, tiny_adapter, addition_parquet
):
    ds = xr.open_zarr(stores / "probe_shift.zarr")
    att = xr.open_zarr(stores / "attribution.zarr")
    assert ds["probe_shift"].dims == ("example", "layer", "column")
    assert list(ds["layer"].values) == [2] and ds.attrs["source_layers"] == [1, 2]
    assert ds.attrs["valid_mask"] == "probe_shift_valid"
    assert ds["probe_shift_valid"].values.all()
    assert list(ds["column_layer"].values) == [1] * 4 + [2] * 4
    assert list(ds["column_head"].values) == [0, 1, 2, 3] * 2
    np.testing.assert_array_equal(ds["trusted_mean"].values, att["trusted_mean"].values)
    model, tok = load_model(tiny_model_dir, tiny_adapter / "adapter", device="cpu")
    df = mad_examples(pd.read_parquet(addition_parquet), 20)
    probe = (ds["probe_weight"].values[0], float(ds["probe_bias"].values[0]))
    mean = ds["trusted_mean"].values.astype(np.float64)
    got = attribution_effects(model, tok, df["prompt"].tolist(), [1, 2], mean, probes={2: probe})
    values, _, _ = assemble(got["attribution"], got["probe_effects"], [1, 2])
    np.testing.assert_allclose(ds["probe_shift"].values, values, rtol=1e-4, atol=1e-6)
    assert ds["probe_l2"].values[0] in L2_GRID and ds["probe_bias"].dims == ("layer",)


def test_scoring_reads_both_stores(stores, tmp_path):
    for feature in ("attribution", "probe_shift"):
        table = score_store(
            stores / f"{feature}.zarr", feature, "mahalanobis", {}, tmp_path / f"{feature}_s.parquet",
            tmp_path / f"{feature}_a.parquet", {"model": "m", "dataset": "d", "transform": "none"},
            scoring=ScoringSettings(n_bootstrap=10),
        )  # fmt: skip
        want = ["1", "2", "all"] if feature == "attribution" else ["2", "all"]
        assert list(table["layer"]) == want and table["auroc"].between(0, 1).all()


def test_scoring_uses_only_valid_columns(stores, tmp_path):
    """A padded store whose invalid columns are NaN scores fine: the mask cuts them away."""
    ds = xr.open_zarr(stores / "probe_shift.zarr")
    n = ds.sizes["example"]
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, 2, 6))
    valid = np.array([[True] * 3 + [False] * 3, [True] * 6])
    values[:, 0, 3:] = np.nan
    meta = pd.DataFrame({c: ds[c].values.astype(object) for c in ("role", "character", "agree")})
    meta["id"] = ds["example"].values.astype(object)
    meta["agree"] = meta["agree"].astype(bool)
    path = tmp_path / "padded.zarr"
    arrays = {
        "probe_shift": (("example", "layer", "column"), values),
        "probe_shift_valid": (("layer", "column"), valid),
    }
    write_store(
        path, arrays, meta, [2, 3], {"feature": "probe_shift", "valid_mask": "probe_shift_valid"}
    )
    table = score_store(
        path, "probe_shift", "mahalanobis", {}, tmp_path / "s.parquet", tmp_path / "a.parquet",
        {"model": "m", "dataset": "d", "transform": "none"}, scoring=ScoringSettings(n_bootstrap=10),
    )  # fmt: skip
    assert table["auroc"].notna().all()
