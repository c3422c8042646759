"""The transform stage on a synthetic store: fit -> safetensors + JSON -> scoring on outputs."""

import json

import numpy as np
import pandas as pd
import pytest

from quirkymad.core.errors import QuirkyError
from quirkymad.core.store import write_store
from quirkymad.scoring.stage import score_store
from quirkymad.stats.settings import ScoringSettings
from quirkymad.transforms.stage import fit_transform_store

LABELS = {"model": "m", "dataset": "d", "transform": "t"}


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(0)
    roles = ["trusted"] * 120 + ["test_normal"] * 40 + ["test_anomalous"] * 40
    n, layers, d = len(roles), [2, 5, 9], 6
    acts = rng.standard_normal((n, len(layers), d)).astype(np.float32)
    acts[-40:] += 4.0  # anomalous records sit far away on every layer
    meta = pd.DataFrame({
        "id": [f"e{i}" for i in range(n)], "role": roles,
        "character": ["Bob" if r == "test_anomalous" else "Alice" for r in roles],
        "agree": rng.random(n) < 0.5,
    })  # fmt: skip
    path = tmp_path / "acts.zarr"
    write_store(path, {"activations": (("example", "layer", "d_model"), acts)}, meta, layers, {})
    return path


@pytest.mark.parametrize(
    "transform, detector, hparams",
    [("flow", "mahalanobis", {"hidden": 8, "steps": 20}), ("flow", "flow_prior", {"steps": 20}),
     ("sae", "diag_mahalanobis", {"expansion": 2, "k": 3, "steps": 20}),
     ("sae", "sae_l0", {"expansion": 2, "k": 3, "steps": 20})],
)  # fmt: skip
def test_fit_then_score_on_the_transform_layers(tmp_path, store, transform, detector, hparams):
    out = tmp_path / "tf"
    fit_transform_store(store, "activations", transform, [5, 9], {**hparams, "batch_size": 32},
                        out, train_on="finetuned")  # fmt: skip
    info = json.loads((out / "transform.json").read_text())
    assert info["layers"] == [5, 9] and info["n_train"] == 120 and info["d"] == 6
    assert info["train_on"] == "finetuned" and set(info["final_train_loss"]) == {"5", "9"}
    assert all(np.isfinite(v) for v in info["final_train_loss"].values())
    table = score_store(store, "activations", detector, {}, tmp_path / "s.parquet",
                        tmp_path / "a.parquet", {**LABELS, "transform": transform},
                        scoring=ScoringSettings(n_bootstrap=20), transform_dir=out)  # fmt: skip
    assert list(table["layer"]) == ["5", "9", "all"]  # only the transform's layers
    assert set(table["transform"]) == {transform} and set(table["detector"]) == {detector}
    cols = ["model", "dataset", "feature", "transform", "detector", "setting", "layer", "auroc",
            "ci_low_example", "ci_high_example", "ci_low_name", "ci_high_name", "p_chance",
            "n_normal", "n_anomalous"]  # fmt: skip
    assert set(cols) <= set(table.columns)
    scores = pd.read_parquet(tmp_path / "s.parquet")
    per = scores[scores["layer"] != "all"].pivot(index="example", columns="layer", values="score")
    agg = scores[scores["layer"] == "all"].set_index("example")["score"]
    np.testing.assert_allclose(per.mean(axis=1).loc[agg.index], agg)
    if detector != "sae_l0":  # l0 novelty is often 0 on a 6-dim toy; the others must separate
        assert table.set_index("layer").loc["all", "auroc"] > 0.9


def test_transform_only_detectors_refuse_raw_features(tmp_path, store):
    def score_flow_prior(**kw):
        score_store(store, "activations", "flow_prior", {}, tmp_path / "s.parquet",
                    tmp_path / "a.parquet", LABELS, scoring=ScoringSettings(n_bootstrap=0), **kw)  # fmt: skip

    with pytest.raises(QuirkyError, match="flow_prior scores flow outputs only"):
        score_flow_prior()
    fit_transform_store(store, "activations", "sae", [2], {"steps": 1}, tmp_path / "sae")
    with pytest.raises(QuirkyError, match="flow_prior scores flow outputs only"):
        score_flow_prior(transform_dir=tmp_path / "sae")


def test_layers_missing_from_the_store_are_named(tmp_path, store):
    with pytest.raises(QuirkyError, match=r"needs layers \[3\]"):
        fit_transform_store(store, "activations", "flow", [3, 5], {}, tmp_path / "tf")
    assert not (tmp_path / "tf").exists()


@pytest.mark.parametrize("transform", ["flow", "sae"])
def test_refitting_gives_identical_files(tmp_path, store, transform):
    # The kill-and-rerun test compares tables with an uninterrupted run: fits must be repeatable.
    for out in ("a", "b"):
        fit_transform_store(store, "activations", transform, [2], {"steps": 15}, tmp_path / out)
    for name in ("weights.safetensors", "transform.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.parametrize("transform", ["flow", "sae"])
def test_cpu_and_auto_device_fit_the_same_files(tmp_path, store, transform):
    """Issue 31: the device argument leaves CPU fits as they were (no `fit_device` key, same
    bytes whether the device is the default, `cpu`, or `auto` resolving to the CPU)."""
    devices = {"default": {}, "cpu": {"device": "cpu"}}
    if not _cuda():
        devices["auto"] = {"device": "auto"}
    for out, kw in devices.items():
        fit_transform_store(store, "activations", transform, [2, 9], {"steps": 12},
                            tmp_path / out, **kw)  # fmt: skip
    ref = tmp_path / "default"
    for out in devices:
        for name in ("weights.safetensors", "transform.json"):
            assert (tmp_path / out / name).read_bytes() == (ref / name).read_bytes()
    assert "fit_device" not in json.loads((tmp_path / "cpu" / "transform.json").read_text())


def test_cuda_asked_for_without_cuda_fails_naming_the_device(tmp_path, store):
    if _cuda():
        pytest.skip("this machine has CUDA")
    with pytest.raises(QuirkyError, match="device: cuda"):
        fit_transform_store(store, "activations", "sae", [2], {"steps": 2}, tmp_path / "t",
                            device="cuda")  # fmt: skip
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("transform", ["flow", "sae"])
def test_cuda_fit_matches_the_cpu_fit(tmp_path, store, transform):
    """On CUDA (bench/gpu_check.sh runs this path at size): same minibatches and initial
    weights as the CPU fit, float32 both, so the final losses agree closely; weights come back
    to the CPU and load anywhere."""
    if not _cuda():
        pytest.skip("needs CUDA")
    from quirkymad.transforms.io import load_transform

    infos = {dev: fit_transform_store(store, "activations", transform, [2, 9], {"steps": 30},
                                      tmp_path / dev, device=dev)
             for dev in ("cpu", "cuda")}  # fmt: skip
    assert infos["cuda"]["fit_device"].startswith("cuda")
    for layer, loss in infos["cpu"]["final_train_loss"].items():
        assert infos["cuda"]["final_train_loss"][layer] == pytest.approx(loss, rel=1e-2)
    _, modules, _ = load_transform(tmp_path / "cuda")
    assert all(p.device.type == "cpu" for m in modules.values() for p in m.parameters())
