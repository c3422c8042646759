"""Paired comparisons: known differences are found, null ones are not; pair selection."""

import numpy as np
import pandas as pd
import pytest

from quirkymad.stats.compare import compare_jobs, comparisons_table, paired_difference
from quirkymad.workflow.jobs import select_pairs


def _mix(rng, n_names=12, per_name=30, offset_sd=0.5):
    y = np.repeat([False, True], n_names * per_name)
    name = np.repeat(np.arange(2 * n_names), per_name).astype(str)
    base = np.repeat(rng.normal(0, offset_sd, 2 * n_names), per_name) + rng.normal(size=len(y))
    return y, name, base + 0.3 * y


def test_known_difference_is_found():
    rng = np.random.default_rng(0)
    found = 0
    for seed in range(5):
        y, name, b = _mix(rng)
        a = b + 0.6 * y  # a = b plus signal on the anomalous records
        r = paired_difference(y, name, a, b, n_boot=500, seed=seed)
        assert r["diff"] > 0
        found += r["ci_low"] > 0 and r["p_value"] < 0.05
    assert found >= 4


def test_null_difference_is_not_found():
    rng = np.random.default_rng(1)
    rejected = 0
    for seed in range(10):
        y, name, b = _mix(rng)
        # Two equally good scores sharing the name effects, with independent record noise.
        a = b + rng.normal(0, 0.5, len(y))
        b2 = b + rng.normal(0, 0.5, len(y))
        r = paired_difference(y, name, a, b2, n_boot=500, seed=seed)
        rejected += not (r["ci_low"] <= 0 <= r["ci_high"])
    assert rejected <= 2


def test_pairing_narrows_the_interval():
    y, name, b = _mix(np.random.default_rng(2), offset_sd=1.0)
    a = b + 0.2 * y
    r = paired_difference(y, name, a, b, n_boot=500)
    # Both scores share the large name effects: Δ is far better determined than each AUROC.
    unpaired = paired_difference(y, name, a, np.zeros_like(a), n_boot=500)
    assert r["ci_high"] - r["ci_low"] < 0.5 * (unpaired["ci_high"] - unpaired["ci_low"])


def _scores(y, name, s, layers):
    frames = [pd.DataFrame({"example": [f"e{i}" for i in range(len(y))], "is_anomalous": y,
                            "name": name, "layer": str(ell), "score": s + k})
              for k, ell in enumerate(layers)]  # fmt: skip
    df = pd.concat(frames)
    agg = df.groupby("example", sort=False)["score"].mean().to_numpy()
    return pd.concat([df, frames[0].assign(layer="all", score=agg)], ignore_index=True)


def test_compare_jobs_uses_the_shared_layers(tmp_path):
    y, name, s = _mix(np.random.default_rng(3))
    raw = _scores(y, name, s, [1, 2, 3, 4])
    flow = _scores(y, name, 2 * s, [2, 4])
    row = compare_jobs(flow, raw, n_boot=50)
    assert row["layers"] == "2,4"
    assert row["diff"] == pytest.approx(0)  # same ranking on the shared layers
    assert compare_jobs(raw, raw, n_boot=50)["layers"] == "all"
    with pytest.raises(ValueError, match="no layer"):
        compare_jobs(_scores(y, name, s, [1]), flow, n_boot=10)
    for tag, df in (("a", flow), ("b", raw)):
        (tmp_path / tag).mkdir()
        df.to_parquet(tmp_path / tag / "scores.parquet")
    job = {"model": "m", "dataset": "d", "pair": "p", "a": "x/flow/mahalanobis",
           "b": "x/none/mahalanobis", "a_dir": tmp_path / "a", "b_dir": tmp_path / "b"}  # fmt: skip
    table = comparisons_table([job], n_boot=50)
    assert list(table["pair"]) == ["p"] and table.loc[0, "layers"] == "2,4"
    assert table.loc[0, "seed"] == 0  # one seed: the run's
    # A replicate's job (issue 18) carries its seed, which also seeds its bootstrap.
    seeded = comparisons_table([{**job, "seed": 3}], n_boot=50)
    assert seeded.loc[0, "seed"] == 3
    pd.testing.assert_frame_equal(seeded, comparisons_table([job], n_boot=50, seed=3))


def test_select_pairs_skips_unscored_scores_with_a_reason():
    comparisons = {"q": {"a": "activations/none/que", "b": "activations/none/mahalanobis"},
                   "f": {"a": "activations/flow/mahalanobis", "b": "activations/none/mahalanobis"}}  # fmt: skip
    kept, skipped = select_pairs(
        comparisons, {"activations/none/que", "activations/none/mahalanobis"}
    )
    assert list(kept) == ["q"]
    assert skipped == {"f": "not scored in this run: activations/flow/mahalanobis"}
