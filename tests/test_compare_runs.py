"""quirkymad compare-runs: two results trees, artifact by artifact (quirkymad/compare_runs.py)."""

import shutil

import numpy as np
import pandas as pd
import pytest

from quirkymad.cli import main
from quirkymad.compare_runs import compare_runs
from quirkymad.core.store import write_store

SCORES = "m/d/scores/activations/none/mahalanobis/scores.parquet"
STORE = "m/d/features/activations.zarr"


@pytest.fixture
def run_a(tmp_path):
    """A small results tree with one artifact of each kind."""
    root = tmp_path / "a" / "results"
    rng = np.random.default_rng(0)
    ids = [f"e{i}" for i in range(6)]
    (root / "datasets/d").mkdir(parents=True)
    pd.DataFrame({"id": ids, "label": [True, False] * 3}).to_parquet(
        root / "datasets/d/data.parquet"
    )
    (root / "m/d/adapter").mkdir(parents=True)
    (root / "m/d/adapter/adapter_model.safetensors").write_bytes(rng.bytes(64))
    meta = pd.DataFrame({"id": ids, "role": ["trusted"] * 3 + ["test_normal"] * 3})
    write_store(root / STORE, {"activations": (("example", "layer", "d_model"),
                rng.standard_normal((6, 2, 4)).astype(np.float32))}, meta, [1, 2], {})  # fmt: skip
    (root / SCORES).parent.mkdir(parents=True)
    pd.DataFrame(
        {"id": ids * 2, "layer": ["1"] * 6 + ["2"] * 6, "score": rng.random(12)}
    ).to_parquet(root / SCORES)
    (root / "tables").mkdir()
    pd.DataFrame({"dataset": ["d", "d"], "detector": ["mahalanobis"] * 2, "layer": ["1", "all"],
                  "auroc": [0.6, 0.7]}).to_parquet(root / "tables/auroc.parquet")  # fmt: skip
    return tmp_path / "a"


def _copy(run_a, tmp_path):
    shutil.copytree(run_a, tmp_path / "b")
    return tmp_path / "b" / "results"


def _verdicts(a, b):
    return {c.path: (c.same, c.detail) for c in compare_runs(a, b)}


def test_a_copy_is_identical_and_row_order_or_a_new_column_does_not_matter(run_a, tmp_path, capsys):
    b = _copy(run_a, tmp_path)
    table = pd.read_parquet(b / "tables/auroc.parquet")
    table.iloc[::-1].assign(seed=0).to_parquet(b / "tables/auroc.parquet")
    got = _verdicts(run_a, b.parent)
    assert len(got) == 5 and all(same for same, _ in got.values())
    assert "columns only in B: seed" in got["tables/auroc.parquet"][1]
    assert main(["compare-runs", str(run_a), str(b)]) == 0  # a checkout or its results/
    assert "5 of 5 artifacts identical" in capsys.readouterr().out


def test_each_kind_of_difference_is_named(run_a, tmp_path, capsys):
    b = _copy(run_a, tmp_path)
    scores = pd.read_parquet(b / SCORES)
    scores.loc[3, "score"] += 1e-12  # exact: no tolerance
    scores.to_parquet(b / SCORES)
    (b / "m/d/adapter/adapter_model.safetensors").write_bytes(b"other")
    shutil.rmtree(b / "datasets")
    table = pd.read_parquet(b / "tables/auroc.parquet")
    pd.concat([table, table.assign(detector="que")]).to_parquet(b / "tables/auroc.parquet")
    got = _verdicts(run_a, b)
    assert got[SCORES] == (False, "values differ: score")
    assert got["m/d/adapter/adapter_model.safetensors"] == (False, "bytes differ")
    assert got["datasets/d/data.parquet"] == (False, "only in A")
    assert got["tables/auroc.parquet"] == (False, "2 rows only in B")
    assert got[STORE] == (True, "")
    assert main(["compare-runs", str(run_a), str(b)]) == 1
    assert "DIFFERS table" in capsys.readouterr().out


def test_a_changed_store_variable_and_a_missing_tree(run_a, tmp_path, capsys):
    import xarray as xr

    b = _copy(run_a, tmp_path)
    ds = xr.open_zarr(b / STORE).load()
    shutil.rmtree(b / STORE)
    ds["activations"][0, 0, 0] = 9.0
    ds.to_zarr(b / STORE, zarr_format=3)
    assert _verdicts(run_a, b)[STORE] == (False, "differ: activations")
    assert main(["compare-runs", str(run_a), str(tmp_path / "nowhere")]) == 2
    assert "no results directory" in capsys.readouterr().err


def test_list_cells_and_tables_without_a_unique_key(run_a, tmp_path):
    """Explanation tables hold token lists; rows without a unique text key are compared in sorted
    order, text columns included."""
    table = pd.DataFrame(
        {"layer": ["1", "1"], "direction": [0, 1], "promoted": [["a", "b"], ["c"]]}
    )
    table.to_parquet(run_a / "results/tables/explain.parquet")
    b = _copy(run_a, tmp_path)
    table.iloc[::-1].to_parquet(b / "tables/explain.parquet")
    assert _verdicts(run_a, b)["tables/explain.parquet"] == (True, "")
    table.assign(promoted=[["a", "x"], ["c"]]).to_parquet(b / "tables/explain.parquet")
    assert _verdicts(run_a, b)["tables/explain.parquet"] == (False, "values differ: promoted")
    table.assign(layer=["1", "2"]).to_parquet(b / "tables/explain.parquet")
    assert _verdicts(run_a, b)["tables/explain.parquet"] == (False, "values differ: layer")


def test_nullable_columns_compare_their_missing_values(run_a, tmp_path):
    """A nullable boolean column (`quirky` of the AUROC tables: pd.NA where no fine-tune is
    flagged) is equal where both are missing and differs where one is."""
    flag = pd.array([True, pd.NA], dtype="boolean")
    table = pd.DataFrame({"dataset": ["a", "b"], "quirky": flag})
    table.to_parquet(run_a / "results/tables/flags.parquet")
    b = _copy(run_a, tmp_path)
    assert _verdicts(run_a, b)["tables/flags.parquet"] == (True, "")
    table.assign(quirky=pd.array([True, False], dtype="boolean")).to_parquet(
        b / "tables/flags.parquet"
    )
    assert _verdicts(run_a, b)["tables/flags.parquet"] == (False, "values differ: quirky")
