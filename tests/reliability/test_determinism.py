"""Same seed and config twice: identical adapters, feature stores, transforms and AUROC tables
(CPU). Datasets: tests/test_datasets_sources.py (byte-identical builds)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from safetensors.numpy import load_file

from quirkymad.features.extraction import (
    AttributionSettings,
    ExtractSettings,
    extract_activation_store,
    extract_attribution_store,
)
from quirkymad.finetune import FinetuneSettings, finetune
from quirkymad.scoring.stage import score_store
from quirkymad.stats.settings import ScoringSettings
from quirkymad.transforms.stage import fit_transform_store

SETTINGS = FinetuneSettings(lr=1e-2, max_train_examples=64, max_val_examples=16, device="cpu")


@pytest.fixture(scope="module")
def two_runs(tiny_model_dir, addition_parquet, tmp_path_factory):
    runs = []
    for i in range(2):
        d = tmp_path_factory.mktemp(f"run{i}")
        finetune(tiny_model_dir, addition_parquet, d / "adapter", d / "log.csv", SETTINGS)
        extract_activation_store(
            tiny_model_dir, d / "adapter", addition_parquet, d / "acts.zarr",
            ExtractSettings(max_per_role=20, device="cpu"),
        )  # fmt: skip
        for feature in ("attribution", "probe_shift"):
            extract_attribution_store(
                tiny_model_dir, d / "adapter", addition_parquet, d / f"{feature}.zarr",
                AttributionSettings(max_per_role=20, batch_size=8, device="cpu"), feature=feature,
            )  # fmt: skip
        fit_transform_store(d / "acts.zarr", "activations", "flow", [2], {"steps": 10},
                            d / "flow")  # fmt: skip
        score_store(d / "acts.zarr", "activations", "mahalanobis", {}, d / "s.parquet",
                    d / "a.parquet", {"model": "t", "dataset": "addition", "transform": "none"},
                    scoring=ScoringSettings(n_bootstrap=50))  # fmt: skip
        runs.append(d)
    return runs


def test_adapters_are_identical_on_cpu(two_runs):
    a, b = (load_file(d / "adapter" / "adapter_model.safetensors") for d in two_runs)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_stores_and_tables_are_identical(two_runs):
    x, y = (xr.open_zarr(d / "acts.zarr").load() for d in two_runs)
    np.testing.assert_array_equal(x["activations"].values, y["activations"].values)
    assert x.attrs["adapter_sha256"] == y.attrs["adapter_sha256"]
    pd.testing.assert_frame_equal(*(pd.read_parquet(d / "a.parquet") for d in two_runs))
    pd.testing.assert_frame_equal(*(pd.read_parquet(d / "s.parquet") for d in two_runs))
    for feature in ("attribution", "probe_shift"):
        x, y = (xr.open_zarr(d / f"{feature}.zarr").load() for d in two_runs)
        np.testing.assert_array_equal(x[feature].values, y[feature].values, err_msg=feature)


def test_transforms_are_identical(two_runs):
    a, b = (load_file(d / "flow" / "weights.safetensors") for d in two_runs)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
