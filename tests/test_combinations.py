"""Layer and feature combinations (quirkymad/scoring/combinations.py) against direct numpy computations;
their config (schema + quirkymad.workflow.config) with one-line errors."""

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from quirkymad.core.errors import QuirkyError
from quirkymad.core.store import write_store
from quirkymad.scoring.combinations import combine_scores, score_combination
from quirkymad.stats.settings import ScoringSettings
from quirkymad.workflow.config import check_config, combination_jobs, schema_errors
from tests.smk import REPO

LAYERS = [1, 2, 3]


def _mahalanobis(train, test, rcond=1e-3):
    """Spec §6.1, written out: pseudo-inverse of the sample covariance, ÷ d."""
    mu = train.mean(0)
    w, v = np.linalg.eigh(np.cov(train, rowvar=False, ddof=1))
    keep = w > rcond * w.max()
    xc = test - mu
    return np.einsum("md,de,me->m", xc, (v[:, keep] / w[keep]) @ v[:, keep].T, xc) / train.shape[1]


def _diag(train, test):
    """Spec §6.2: population std, clamped."""
    sd = np.maximum(train.std(0), 1e-8)
    return (((test - train.mean(0)) / sd) ** 2).mean(1)


def _roles(n_trusted=60, n_test=30):
    roles = ["trusted"] * n_trusted + ["untrusted_alice"] * 10 + ["untrusted_bob"] * 10
    roles += ["test_normal"] * n_test + ["test_anomalous"] * n_test
    roles += ["select_normal"] * 8 + ["select_anomalous"] * 8
    return np.array(roles, dtype=object)


def _features(role, widths, seed=0):
    """{layer: x} with Bob-like records shifted on a few components."""
    rng = np.random.default_rng(seed)
    bob = np.isin(role, ["test_anomalous", "select_anomalous", "untrusted_bob"])
    out = {}
    for ell, w in zip(LAYERS, widths):
        x = rng.standard_normal((len(role), w))
        x[bob, :2] += 0.8
        out[ell] = x
    return out


def test_concat_is_one_detector_on_all_layers():
    role = _roles()
    xs = _features(role, [5, 7, 4])
    rows, got = combine_scores("concat", {"f": xs}, ["mahalanobis"], {}, role)
    x = np.concatenate([xs[ell] for ell in LAYERS], axis=1)
    ev = np.isin(role, ["test_normal", "test_anomalous", "select_normal", "select_anomalous"])
    assert rows == ["all"]
    np.testing.assert_allclose(got[0], _mahalanobis(x[role == "trusted"], x[ev]), rtol=1e-6)


def test_merge_concatenates_stores_per_shared_layer():
    role = _roles()
    a, b = _features(role, [5, 6, 4], seed=1), _features(role, [3, 3, 3], seed=2)
    del b[1]  # the second store lacks layer 1: merged on 2, 3 only
    rows, got = combine_scores("merge", {"a": a, "b": b}, ["diag_mahalanobis"], {}, role)
    ev = np.isin(role, ["test_normal", "test_anomalous", "select_normal", "select_anomalous"])
    assert rows == ["2", "3"]
    for i, ell in enumerate([2, 3]):
        x = np.concatenate([a[ell], b[ell]], axis=1)
        np.testing.assert_allclose(got[i], _diag(x[role == "trusted"], x[ev]), rtol=1e-6)


def test_ensemble_averages_scores_standardised_on_out_of_fold_trusted_scores():
    role = _roles()
    xs = _features(role, [4, 4, 4])
    folds, seed = 3, 7
    rows, got = combine_scores("ensemble", {"f": xs}, ["mahalanobis", "diag_mahalanobis"], {},
                               role, folds=folds, seed=seed)  # fmt: skip
    ev = np.isin(role, ["test_normal", "test_anomalous", "select_normal", "select_anomalous"])
    idx = np.flatnonzero(role == "trusted")
    parts = np.array_split(np.random.default_rng(seed).permutation(idx), folds)
    assert rows == ["1", "2", "3"]
    for i, ell in enumerate(LAYERS):
        x, z = xs[ell], []
        for ref in (_mahalanobis, _diag):
            oof = np.concatenate([ref(x[np.setdiff1d(idx, p)], x[p]) for p in parts])
            z.append((ref(x[idx], x[ev]) - oof.mean()) / oof.std(ddof=1))
        np.testing.assert_allclose(got[i], np.mean(z, axis=0), rtol=1e-6)


def test_ensemble_of_an_offline_detector_fits_with_the_unlabelled_set():
    role = _roles()
    xs = _features(role, [4, 4, 4])
    _, a = combine_scores("ensemble", {"f": xs}, ["mahalanobis", "que"], {}, role, folds=5)
    _, b = combine_scores("ensemble", {"f": xs}, ["mahalanobis", "que"],
                          {"que": {"untrusted": "easy"}}, role, folds=5)  # fmt: skip
    assert np.isfinite(a).all() and not np.allclose(a, b)


def _store(path, role, xs, feature, order=None, dim="d_model"):
    order = np.arange(len(role)) if order is None else order
    layers = sorted(xs)
    arr = np.stack([xs[ell] for ell in layers], axis=1)[order].astype(np.float32)
    character = ["Bob" if "anomalous" in r or "bob" in r else "Alice" for r in role[order]]
    meta = pd.DataFrame({
        "id": [f"e{i}" for i in order], "role": role[order], "character": character,
        "agree": (order % 3 == 0), "name": [f"{c}{i % 7}" for c, i in zip(character, order)],
    })  # fmt: skip
    write_store(path, {feature: (("example", "layer", dim), arr)}, meta, layers, {})
    return path


def test_score_combination_writes_rows_with_the_combination_column(tmp_path):
    role = _roles()
    a, b = _features(role, [5, 5, 5], seed=3), _features(role, [4, 4, 4], seed=4)
    sa = _store(tmp_path / "a.zarr", role, a, "activations")
    # the other store holds the same records in another order: merge aligns them by id
    perm = np.random.default_rng(0).permutation(len(role))
    sb = _store(tmp_path / "b.zarr", role, b, "attribution", order=perm, dim="head")
    labels = {"model": "m", "dataset": "d"}
    kw = {"labels": labels, "scoring": ScoringSettings(n_bootstrap=20, n_permutations=20)}
    cat = score_combination("concat", {"activations": sa}, ["mahalanobis"], {},
                            tmp_path / "s1.parquet", tmp_path / "a1.parquet", **kw)  # fmt: skip
    assert list(cat["layer"]) == ["all"] and list(cat["combination"]) == ["concat"]
    assert cat["setting"].item() == "online" and cat["transform"].item() == "none"
    test = np.isin(role, ["test_normal", "test_anomalous"])
    x = np.concatenate([a[ell] for ell in LAYERS], axis=1).astype(np.float32).astype(float)
    want = roc_auc_score(role[test] == "test_anomalous",
                         _mahalanobis(x[role == "trusted"], x[test]))  # fmt: skip
    assert cat["auroc"].item() == pytest.approx(want, abs=1e-9)
    for col in ("ci_low_name", "ci_high_name", "p_chance", "auroc_select"):
        assert np.isfinite(cat[col]).all(), col
    mer = score_combination("merge", {"activations": sa, "attribution": sb}, ["diag_mahalanobis"],
                            {}, tmp_path / "s2.parquet", tmp_path / "a2.parquet", **kw)  # fmt: skip
    assert list(mer["layer"]) == ["1", "2", "3", "all"]
    assert list(mer["combination"]) == ["none", "none", "none", "mean"]
    assert set(mer["feature"]) == {"activations+attribution"}
    xm = np.concatenate([a[2], b[2]], axis=1).astype(np.float32).astype(float)
    want = roc_auc_score(role[test] == "test_anomalous", _diag(xm[role == "trusted"], xm[test]))
    assert mer.loc[mer["layer"] == "2", "auroc"].item() == pytest.approx(want, abs=1e-9)
    ens = score_combination("ensemble", {"activations": sa}, ["mahalanobis", "que"], {},
                            tmp_path / "s3.parquet", tmp_path / "a3.parquet", folds=5, **kw)  # fmt: skip
    assert set(ens["detector"]) == {"mahalanobis+que"} and set(ens["setting"]) == {"offline"}
    scores = pd.read_parquet(tmp_path / "s3.parquet")
    assert set(scores["layer"]) == {"1", "2", "3", "all"} and len(scores) == 4 * test.sum()


def test_merge_uses_the_records_every_store_holds(tmp_path):
    """A sweep's extra trusted records live in the activation store only (issue 20): merge
    scores the shared records, as if the extra ones were not there."""
    role = _roles()
    a, b = _features(role, [5, 5, 5], seed=3), _features(role, [4, 4, 4], seed=4)
    extra = np.array(["trusted_hard"] * 6)
    a_more = {ell: np.concatenate([x, x[:6] + 3.0]) for ell, x in a.items()}
    sa = _store(tmp_path / "a.zarr", np.concatenate([role, extra]), a_more, "activations")
    sa_same = _store(tmp_path / "a2.zarr", role, a, "activations")
    sb = _store(tmp_path / "b.zarr", role, b, "attribution", dim="head")
    kw = {
        "labels": {"model": "m", "dataset": "d"},
        "scoring": ScoringSettings(n_bootstrap=20, n_permutations=20),
    }
    got = score_combination("merge", {"activations": sa, "attribution": sb}, ["mahalanobis"],
                            {}, tmp_path / "s1.parquet", tmp_path / "t1.parquet", **kw)  # fmt: skip
    want = score_combination("merge", {"activations": sa_same, "attribution": sb},
                             ["mahalanobis"], {}, tmp_path / "s2.parquet",
                             tmp_path / "t2.parquet", **kw)  # fmt: skip
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(QuirkyError, match="lacks MAD records"):
        score_combination("merge", {"activations": sa, "attribution": _store(
            tmp_path / "c.zarr", role[:-4], {k: v[:-4] for k, v in b.items()}, "attribution",
            dim="head")}, ["mahalanobis"], {}, tmp_path / "s3.parquet", tmp_path / "t3.parquet",
            **kw)  # fmt: skip


def _tiny():
    return yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())


def test_combination_jobs_from_the_config():
    combos = {
        "concat": {"features": ["probe_shift", "activations"], "detectors": ["que"]},
        "merge": {"detectors": ["mahalanobis", "lof"]},
        "ensemble": {"features": ["activations"], "detectors": ["mahalanobis", "que"]},
    }
    config = {"models": {"tiny-random": {}}, "datasets": {"addition": {}},
              "detectors": {"que": {}}, "combinations": combos}  # fmt: skip
    assert schema_errors(config, set_defaults=True) == []  # merge's features: the default
    jobs = combination_jobs(config)
    labels = [(j["combination"], j["feature_label"], j["detector_label"]) for j in jobs]
    assert labels == [
        ("concat", "probe_shift", "que"), ("concat", "activations", "que"),
        ("merge", "activations+attribution", "mahalanobis"),
        ("merge", "activations+attribution", "lof"),
        ("ensemble", "activations", "mahalanobis+que"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "combos, message",
    [
        ({"concat": {"features": ["activations"]}}, "combinations.concat: 'detectors' is a required"),
        ({"concat": {"features": ["nope"], "detectors": ["que"]}}, "combinations.concat.features.0"),
        ({"ensemble": {"features": ["activations"], "detectors": ["que"]}},
         "combinations.ensemble.detectors: ['que'] is too short"),
        ({"merge": {"detectors": ["mahalanobis"], "features": ["activations"]}},
         "combinations.merge.features: ['activations'] is too short"),
        ({"concat": {"features": ["activations"], "detectors": ["sae_l0"]}},
         "combinations.concat.detectors: sae_l0 scores sae outputs only"),
        ({"mean": {}}, "unknown key combinations.mean"),
    ],
)  # fmt: skip
def test_bad_combinations_fail_in_one_line(combos, message):
    cfg = {**_tiny(), "combinations": combos}
    with pytest.raises(QuirkyError) as err:
        check_config(cfg, check_models=False)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_combined_features_must_be_enabled_and_merged_ones_share_a_layer():
    cfg = _tiny()
    cfg["features"] = {"activations": {}}
    cfg["combinations"] = {"concat": {"features": ["probe_shift"], "detectors": ["que"]}}
    cfg["figures"] = {}
    cfg["explain"] = {"scores": []}
    with pytest.raises(
        QuirkyError, match="combinations.concat.features: probe_shift is not enabled"
    ):
        check_config(cfg, check_models=False)
    cfg = _tiny()
    cfg["features"]["attribution"] = {"layers": [1]}
    cfg["combinations"] = {"merge": {"features": ["attribution", "probe_shift"],
                                     "detectors": ["mahalanobis"]}}  # fmt: skip
    with pytest.raises(QuirkyError, match="share no layer on model tiny-random"):
        check_config(cfg, check_models=False)
