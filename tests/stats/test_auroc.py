"""Vectorised AUROCs against sklearn, and the resampling schemes' structure."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from quirkymad.stats.auroc import relabelled_auroc, weighted_auroc
from quirkymad.stats.resample import example_weights, name_weights
from quirkymad.stats.rows import auroc_rows


def test_weighted_auroc_matches_sklearn_sample_weight_with_ties():
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=80), 1)  # many ties
    y = rng.random(80) < 0.4
    w = rng.integers(0, 4, size=(20, 80))
    want = [roc_auc_score(y, s, sample_weight=wi) for wi in w]
    np.testing.assert_allclose(weighted_auroc(s, y, w), want, rtol=1e-12)


def test_weighted_auroc_equals_auroc_of_the_index_resample():
    rng = np.random.default_rng(1)
    s, y = rng.normal(size=30), np.arange(30) < 12
    idx = rng.integers(0, 30, size=30)
    w = np.bincount(idx, minlength=30)[None]
    assert weighted_auroc(s, y, w)[0] == pytest.approx(roc_auc_score(y[idx], s[idx]))


def test_weighted_auroc_nan_without_a_class_and_chunking(monkeypatch):
    s, y = np.arange(6.0), np.array([0, 0, 0, 1, 1, 1], bool)
    w = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]])
    monkeypatch.setattr("quirkymad.stats.auroc.CHUNK_ELEMENTS", 6)  # one row per chunk
    out = weighted_auroc(s, y, w)
    assert np.isnan(out[0]) and out[1] == 1.0


def test_relabelled_auroc_matches_sklearn():
    rng = np.random.default_rng(2)
    s = np.round(rng.normal(size=50), 1)
    labels = rng.random((7, 50)) < 0.5
    want = [roc_auc_score(lab, s) for lab in labels]
    np.testing.assert_allclose(relabelled_auroc(s, labels), want, rtol=1e-12)


def test_resamples_keep_side_sizes_and_draw_whole_names():
    y = np.repeat([False, True], 30)
    name = np.repeat([f"n{i}" for i in range(6)], 10)  # 3 names per side, 10 records each
    rng = np.random.default_rng(3)
    w_ex = example_weights(y, 200, rng)
    assert (w_ex[:, ~y].sum(1) == 30).all() and (w_ex[:, y].sum(1) == 30).all()
    for within in ("keep", "resample"):
        w = name_weights(y, name, 200, rng, within)
        assert (w[:, ~y].sum(1) == 30).all() and (w[:, y].sum(1) == 30).all()
        per_name = w.reshape(200, 6, 10).sum(2)  # a drawn name brings k × its 10 records
        assert (per_name % 10 == 0).all()
        assert (per_name == 0).any()  # some names left out of some replicates
    kept = w_keep = name_weights(y, name, 50, rng, "keep").reshape(50, 6, 10)
    assert (kept == w_keep[:, :, :1]).all()  # "keep": all records of a name counted alike
    with pytest.raises(ValueError, match="within"):
        name_weights(y, name, 5, rng, "bogus")


def _mix(rng, offset_sd, n_names=12, per_name=40, signal=0.3):
    """Test mix: names with a shared per-name offset (sd `offset_sd`), anomalous side shifted."""
    rows = []
    for side in (0, 1):
        for k in range(n_names):
            off = rng.normal(0, offset_sd)
            s = off + signal * side + rng.normal(size=per_name)
            rows.append(pd.DataFrame({"score": s, "is_anomalous": bool(side),
                                      "name": f"{side}-{k}", "agree": rng.random(per_name) < .5}))  # fmt: skip
    return pd.concat(rows, ignore_index=True).assign(layer="all")


def _widths(df, within="keep"):
    r = auroc_rows(df, n_boot=1000, n_perm=200, seed=0, within=within)[0]
    return r["ci_high_example"] - r["ci_low_example"], r["ci_high_name"] - r["ci_low_name"]


def test_name_interval_wider_with_shared_name_offsets_and_equal_without():
    # Averaged over test mixes: with 12 names a side, one mix's interval width is itself noisy.
    rng = np.random.default_rng(4)
    ratio = {}
    for sd in (0.7, 0.0):
        w = np.array([_widths(_mix(rng, offset_sd=sd)) for _ in range(8)]).mean(0)
        ratio[sd] = w[1] / w[0]
    assert ratio[0.7] > 1.6
    assert 0.85 < ratio[0.0] < 1.15
    # The two-stage variant counts the within-name noise twice: about √2 as wide.
    mixes = [_mix(rng, offset_sd=0.0) for _ in range(8)]
    ex = np.mean([_widths(m)[0] for m in mixes])
    two_stage = np.mean([_widths(m, "resample")[1] for m in mixes])
    assert 1.25 < two_stage / ex < 1.6


def test_auroc_rows_columns_and_subset_intervals():
    df = _mix(np.random.default_rng(5), offset_sd=0.2)
    df = pd.concat([df.assign(layer="1"), df.assign(layer="all", score=df["score"] * 2)])
    rows = auroc_rows(df, n_boot=200, n_perm=100, seed=0)
    assert [r["layer"] for r in rows] == ["1", "all"]
    for r in rows:
        assert r["n_names_normal"] == r["n_names_anomalous"] == 12
        for sub in ("", "_agree", "_disagree"):
            assert r[f"ci_low_name{sub}"] <= r[f"auroc{sub}"] + 0.05
            assert r[f"auroc{sub}"] - 0.05 <= r[f"ci_high_name{sub}"]
    # A monotone transform of the scores changes nothing: same draws for every row.
    a, b = rows
    for key in ("auroc", "ci_low_name", "ci_high_name", "ci_low_example", "p_chance"):
        assert a[key] == pytest.approx(b[key])
