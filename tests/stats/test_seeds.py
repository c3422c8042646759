"""Seeds as replicates (issue 18): the summary over seeds of the AUROC table."""

import numpy as np
import pandas as pd
import pytest

from quirkymad.stats.seeds import seed_summary


def _table(seeds, aurocs):
    return pd.DataFrame(
        [{"model": "m", "dataset": "d", "setting": "online", "feature": "activations",
          "transform": "none", "detector": "mahalanobis", "layer": layer, "seed": s,
          "auroc": a + (0.1 if layer == "all" else 0), "auroc_select": a, "p_chance": a / 20}
         for s, a in zip(seeds, aurocs) for layer in ("1", "all")]
    )  # fmt: skip


def test_mean_spread_and_t_interval_over_seeds():
    out = seed_summary(_table([0, 1, 2], [0.6, 0.7, 0.8])).set_index("layer")
    row = out.loc["1"]
    assert row["n_seeds"] == 3 and row["seeds"] == "0,1,2"
    assert row["auroc_mean"] == pytest.approx(0.7) and row["auroc_sd"] == pytest.approx(0.1)
    assert (row["auroc_min"], row["auroc_max"]) == pytest.approx((0.6, 0.8))
    half = 4.302652729911275 * 0.1 / np.sqrt(3)  # t_{0.975, 2}
    assert (row["ci_low_seeds"], row["ci_high_seeds"]) == pytest.approx((0.7 - half, 0.7 + half))
    assert row["n_significant"] == 3 and out.loc["all", "auroc_mean"] == pytest.approx(0.8)


def test_one_seed_has_no_spread():
    row = seed_summary(_table([0], [0.6])).iloc[0]
    assert row["n_seeds"] == 1 and row["auroc_mean"] == pytest.approx(0.6)
    assert np.isnan(row["auroc_sd"]) and np.isnan(row["ci_low_seeds"])
