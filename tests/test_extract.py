"""The activation store equals a direct forward pass; xarray reads it; writes are atomic."""

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from quirkymad.core.atomic import atomic_path
from quirkymad.core.errors import QuirkyError
from quirkymad.core.layers import resolve_layers
from quirkymad.core.prompts import answer_token_ids
from quirkymad.core.store import open_store, strings
from quirkymad.features.extraction import ExtractSettings, extract_activation_store
from quirkymad.models import load_model


@pytest.fixture(scope="module")
def store(tiny_model_dir, tiny_adapter, addition_parquet, tmp_path_factory):
    out = tmp_path_factory.mktemp("store") / "activations.zarr"
    settings = ExtractSettings(layers="all", batch_size=8, max_per_role=20, device="cpu")
    extract_activation_store(
        tiny_model_dir, tiny_adapter / "adapter", addition_parquet, out, settings
    )
    return out


def test_store_matches_a_direct_forward_pass(store, tiny_model_dir, tiny_adapter, addition_parquet):
    ds = xr.open_zarr(store)
    assert ds["activations"].dims == ("example", "layer", "d_model")
    assert list(ds["layer"].values) == [1, 2]
    model, tok = load_model(tiny_model_dir, tiny_adapter / "adapter", device="cpu")
    no_id, yes_id = answer_token_ids(tok)
    prompts = pd.read_parquet(addition_parquet).set_index("id")["prompt"]
    for i in [0, 7, len(ds["example"]) - 1]:
        ex = str(ds["example"].values[i])
        ids = tok(prompts[ex], return_tensors="pt")
        with torch.no_grad():
            out = model(**ids, output_hidden_states=True)
        for li, layer in enumerate(ds["layer"].values):
            want = out.hidden_states[int(layer)][0, -1].numpy()
            got = ds["activations"].values[i, li]
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        logits = out.logits[0, -1]
        np.testing.assert_allclose(
            ds["logit_yes"].values[i], logits[yes_id].item(), rtol=1e-4, atol=1e-5
        )
        np.testing.assert_allclose(
            ds["log_odds"].values[i], (logits[yes_id] - logits[no_id]).item(), rtol=1e-4, atol=1e-4
        )


def test_store_has_metadata_and_provenance(store):
    ds = xr.open_zarr(store)
    for coord in ("character", "role", "split", "difficulty", "label", "agree", "name"):
        assert coord in ds.coords and ds[coord].dims == ("example",)
    assert set(ds["role"].values.astype(object)) == {
        "trusted", "untrusted_alice", "untrusted_bob", "test_normal", "test_anomalous",
        "select_normal", "select_anomalous",  # the honest best layer's selection split
    }  # fmt: skip
    roles = pd.Series(ds["role"].values.astype(object)).value_counts()
    assert roles["test_normal"] == roles["test_anomalous"]
    assert ds.attrs["complete"] is True and ds.attrs["layers"] == [1, 2]
    assert len(ds.attrs["adapter_sha256"]) == 64


def test_open_store_rejects_foreign_and_partial_stores(tmp_path, store):
    with pytest.raises(QuirkyError, match="not a Zarr v3 store"):
        open_store(tmp_path)
    foreign = tmp_path / "foreign.zarr"
    xr.Dataset({"x": ("a", np.arange(3))}).to_zarr(foreign, zarr_format=3, consolidated=False)
    with pytest.raises(QuirkyError, match="not a complete quirkymad store"):
        open_store(foreign)
    with pytest.raises(QuirkyError, match="no variable 'attribution'"):
        open_store(store, variable="attribution")


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "out.zarr"
    with pytest.raises(KeyboardInterrupt), atomic_path(final) as tmp:
        tmp.mkdir()
        (tmp / "zarr.json").write_text("{}")
        raise KeyboardInterrupt
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_store_write_leaves_no_store(tmp_path, monkeypatch):
    """write_store interrupted after zarr wrote part of the store: nothing at the final path."""
    from quirkymad.core.store import write_store

    real = xr.Dataset.to_zarr

    def half_then_interrupt(self, store, **kwargs):
        part = self[["x"]]
        kwargs["encoding"] = {k: v for k, v in kwargs["encoding"].items() if k in part.variables}
        real(part, store, **kwargs)  # a readable but partial store...
        raise KeyboardInterrupt  # ...then Ctrl-C before the second array

    monkeypatch.setattr(xr.Dataset, "to_zarr", half_then_interrupt)
    final = tmp_path / "attribution.zarr"
    meta = pd.DataFrame({"id": ["a", "b"]})
    arrays = {"x": (("example",), np.zeros(2)), "y": (("example",), np.ones(2))}
    with pytest.raises(KeyboardInterrupt):
        write_store(final, arrays, meta, [1], {"feature": "x"})
    assert not final.exists() and list(tmp_path.iterdir()) == []


def test_atomic_path_clears_what_a_killed_writer_left(tmp_path):
    final = tmp_path / "table.parquet"
    (tmp_path / ".table.parquet.tmp-99999").write_text("half written")
    with atomic_path(final) as tmp:
        tmp.write_text("done")
    assert final.read_text() == "done"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.parquet"]


def test_resolve_layers():
    assert resolve_layers("auto", 32) == list(range(1, 32, 3))
    assert resolve_layers("auto", 30) == list(range(1, 30, 3))
    assert resolve_layers("all", 2) == [1, 2]
    with pytest.raises(QuirkyError, match=r"layers: \[40\] out of range 1..30"):
        resolve_layers([1, 40], 30)
    # cupbearer's block index (features.attribution.layer_index: cupbearer): 0..n-1
    assert resolve_layers("all", 2, first=0) == [0, 1]
    assert resolve_layers("auto", 32, first=0) == list(range(1, 32, 3))
    with pytest.raises(QuirkyError, match=r"layers: \[30\] out of range 0..29"):
        resolve_layers([0, 30], 30, first=0)


def test_base_model_store_of_trusted_records(store, tiny_model_dir, addition_parquet, tmp_path):
    """`train_on: base` stores: no adapter, trusted records only, same examples as the
    fine-tuned store's trusted ones, different activations (the adapter changes the model)."""
    out = tmp_path / "activations_base.zarr"
    settings = ExtractSettings(layers="all", batch_size=8, max_per_role=20, device="cpu")
    extract_activation_store(tiny_model_dir, None, addition_parquet, out, settings,
                             roles=["trusted"])  # fmt: skip
    base, tuned = open_store(out), open_store(store)
    assert set(strings(base, "role")) == {"trusted"}
    assert base.attrs["adapter_sha256"] is None
    trusted = strings(tuned, "role") == "trusted"
    assert list(strings(base, "example")) == list(strings(tuned, "example")[trusted])
    assert not np.allclose(base["activations"].values, tuned["activations"].values[trusted])
