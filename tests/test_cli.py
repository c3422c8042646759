"""`quirkymad inspect`: what it prints for a store, and one clear line for anything else."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quirkymad.cli import main
from quirkymad.core.store import write_store

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A 4-example, 2-layer store; layer 3 has one NaN and known norms."""
    path = tmp_path_factory.mktemp("cli") / "activations.zarr"
    acts = np.zeros((4, 2, 3), dtype=np.float32)
    acts[:, 0, 0] = 3.0  # layer 1: every norm 3
    acts[:, 1, :2] = [3.0, 4.0]  # layer 3: norms 5 ...
    acts[0, 1, 2] = np.nan  # ... one NaN
    meta = pd.DataFrame({"id": ["a", "b", "c", "d"], "role": ["trusted"] * 4})
    arrays = {
        "activations": (("example", "layer", "d_model"), acts),
        "log_odds": (("example",), np.arange(4, dtype=np.float32)),
    }
    write_store(path, arrays, meta, [1, 3], {"feature": "activations", "model": "tiny"})
    return path


def test_inspect_prints_arrays_coords_attrs_and_layer_stats(store, capsys):
    assert main(["inspect", str(store)]) == 0
    out = capsys.readouterr().out
    assert "feature 'activations'; example=4, layer=2, d_model=3" in out
    assert "activations ('example', 'layer', 'd_model') shape 4×2×3 float32 chunks (4, 1, 3)" in out
    assert "log_odds ('example',) shape 4 float32" in out
    assert "role ('example',)" in out and "layer ('layer',) int64" in out
    assert 'model: "tiny"' in out and "complete: true" in out
    assert "layer 1: mean_l2 3  nan 0" in out
    assert "layer 3: mean_l2 5  nan 1" in out


def test_inspect_one_layer(store, capsys):
    assert main(["inspect", str(store), "--layer", "1"]) == 0
    out = capsys.readouterr().out
    assert "layer 1: mean_l2 3  nan 0  width 3  min 0  mean 1  max 3" in out
    assert "layer 3:" not in out


def test_inspect_unknown_layer_is_one_line(store, capsys):
    assert main(["inspect", str(store), "--layer", "7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no layer 7 (layers: [1, 3])" in err[0]


@pytest.mark.parametrize("kind", ["missing", "empty_dir", "foreign_zarr"])
def test_not_a_store_exits_2_with_one_line(tmp_path, kind):
    path = tmp_path / "x.zarr"
    if kind == "empty_dir":
        path.mkdir()
    elif kind == "foreign_zarr":
        import xarray as xr

        xr.Dataset({"x": ("a", np.arange(3))}).to_zarr(path, zarr_format=3, consolidated=False)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-m", "quirkymad", "inspect", str(path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quirkymad inspect: ") and str(path) in lines[0]


def test_config_prints_the_completed_config(tmp_path, capsys):
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(
        "models: {tiny-random: {}}\ndatasets: {addition: {n_base: 64}}\n"
        "detectors: {diag_mahalanobis: {}}\ntransforms: {sae: {detectors: [sae_l0], k: 4}}\n"
    )
    assert main(["config", "--configfile", str(path)]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["detectors"] == {"diag_mahalanobis": {"min_std": 1e-8}}
    assert config["transforms"]["sae"]["k"] == 4 and config["transforms"]["sae"]["expansion"] == 4
    assert config["scoring"]["n_bootstrap"] == 1000 and config["finetune"]["lora_r"] == 8


def test_config_with_a_bad_key_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("models: {tiny-random: {}}\ndatasets: {addition: {}}\ndetectors: {nope: {}}\n")
    assert main(["config", "--configfile", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("quirkymad: ") and "detectors" in err[0]
