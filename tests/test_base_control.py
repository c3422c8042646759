"""The base-model negative control (issue 28, item 2) on a tiny random model whose "quirk" is
planted in the last layer only: the control, the base model's activations of the same records
scored as the fine-tuned store is, is at chance where the fine-tuned store is detected."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quirkymad.core.roles import TEST_ROLES
from quirkymad.core.store import META_COLUMNS, open_store, strings, write_store
from quirkymad.features.extraction import ExtractSettings, extract_activation_store
from quirkymad.scoring.stage import score_store
from quirkymad.stats.controls import control_row
from quirkymad.stats.settings import ScoringSettings

LABELS = {"model": "tiny-random", "dataset": "addition", "transform": "none", "seed": 0}
SCORING = ScoringSettings(n_bootstrap=300, n_permutations=300)


def _planted(base, out, shift=3.0):
    """The base store with Bob's test records moved along one random direction at the last
    layer: a fine-tune that changed the last block only."""
    ds = open_store(base, variable="activations")
    x = np.asarray(ds["activations"].values, dtype=np.float32).copy()
    bob = strings(ds, "role") == "test_anomalous"
    direction = np.random.default_rng(0).standard_normal(x.shape[-1])
    x[bob, -1] += shift * x[:, -1].std() * direction / np.linalg.norm(direction)
    meta = pd.DataFrame({"id": strings(ds, "example")} |
                        {c: ds[c].values for c in META_COLUMNS if c in ds.coords})  # fmt: skip
    layers = [int(ell) for ell in ds["layer"].values]
    write_store(out, {"activations": (("example", "layer", "d_model"), x)}, meta, layers, {})


def _score(store, out):
    out.mkdir()
    score_store(store, "activations", "mahalanobis", {}, out / "scores.parquet",
                out / "auroc.parquet", LABELS, scoring=SCORING)  # fmt: skip
    return pd.read_parquet(out / "auroc.parquet").set_index("layer")


def test_base_control_is_at_chance_where_the_planted_quirk_is_found(
    tiny_model_dir, addition_parquet, tmp_path
):
    settings = ExtractSettings(layers="all", max_per_role=60, device="cpu")
    base = tmp_path / "base.zarr"  # what rule extract_control_activations writes
    extract_activation_store(tiny_model_dir, None, addition_parquet, base, settings,
                             roles=["trusted", *TEST_ROLES])  # fmt: skip
    _planted(base, tmp_path / "tuned.zarr")
    tuned, control = _score(tmp_path / "tuned.zarr", tmp_path / "t"), _score(base, tmp_path / "b")
    last = str(max(int(ell) for ell in tuned.index if ell != "all"))
    assert tuned.loc[last, "auroc"] > 0.9 and tuned.loc[last, "p_chance"] < 0.05
    # The control where the quirk is (the last layer) and in the aggregate the controls table
    # reports: at chance. (An earlier layer of the base model may separate the two sides' names
    # a little on its own, here AUROC 0.60 at layer 1: that name effect is what the control
    # measures, and it is the same in the fine-tuned store.)
    for layer in (last, "all"):
        row = control.loc[layer]
        assert row["ci_low_name"] < 0.5 < row["ci_high_name"], layer
        assert row["p_chance"] > 0.05, layer
    earlier = [ell for ell in tuned.index if ell not in (last, "all")]
    assert np.allclose(tuned.loc[earlier, "auroc"], control.loc[earlier, "auroc"])
    row = control_row(tmp_path / "t", tmp_path / "b", SCORING)
    assert row["auroc_base"] == control.loc["all", "auroc"] and row["auroc"] > row["auroc_base"]
