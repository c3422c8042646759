"""score_store: the statistics columns, names from the store, selection records kept apart."""

import numpy as np
import pandas as pd
import pytest

from quirkymad.core.store import write_store
from quirkymad.scoring.stage import score_store
from quirkymad.stats.settings import ScoringSettings

LABELS = {"model": "m", "dataset": "d", "transform": "none"}


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(0)
    roles = ["trusted"] * 120 + ["test_normal"] * 48 + ["test_anomalous"] * 48
    roles += ["select_normal"] * 24 + ["select_anomalous"] * 24
    n, layers, d = len(roles), [1, 2, 3], 8
    x = rng.standard_normal((n, len(layers), d)).astype(np.float32)
    bob = np.array(["anomalous" in r for r in roles])
    x[bob, 0, :2] += 3.0  # layer 1 separates on both the test mix and the selection records
    name = [f"{'B' if b else 'A'}{i % 6}" for i, b in enumerate(bob)]
    meta = pd.DataFrame({"id": [f"e{i}" for i in range(n)], "role": roles, "name": name,
                         "character": np.where(bob, "Bob", "Alice"), "agree": rng.random(n) < .5})  # fmt: skip
    path = tmp_path / "s.zarr"
    write_store(path, {"activations": (("example", "layer", "d"), x)}, meta, layers, {})
    return path


@pytest.mark.parametrize("batched", [True, False])
def test_statistics_columns_and_selection_auroc(tmp_path, store, batched):
    table = score_store(
        store,
        "activations",
        "mahalanobis",
        {},
        tmp_path / "s.parquet",
        tmp_path / "a.parquet",
        LABELS,
        scoring=ScoringSettings(n_bootstrap=200, n_permutations=200),
        batched=batched,
    )
    scores = pd.read_parquet(tmp_path / "s.parquet")
    assert len(scores) == 4 * 96 and set(scores["name"].str[0]) == {"A", "B"}  # test mix only
    row = table.set_index("layer").loc["1"]
    assert row["n_names_normal"] == row["n_names_anomalous"] == 6
    assert row["auroc"] > 0.9 and row["auroc_select"] > 0.9
    assert row["p_chance"] < 0.05
    for kind in ("name", "example"):
        assert row[f"ci_low_{kind}"] <= row["auroc"] <= row[f"ci_high_{kind}"] + 1e-9
    others = table.set_index("layer").loc[["2", "3"], "auroc_select"]
    assert (others < 0.75).all() and table["auroc_select"].notna().all()
