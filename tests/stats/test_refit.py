"""Intervals of transductive detectors refit the detector inside the resampling (issue 28)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from quirkymad.core.store import write_store
from quirkymad.detectors import make_detector
from quirkymad.scoring.stage import score_store
from quirkymad.stats.refit import is_transductive, refit_intervals, refit_stream
from quirkymad.stats.resample import name_weights
from quirkymad.stats.settings import ScoringSettings

LABELS = {"model": "m", "dataset": "d", "transform": "none"}


def _data(seed=0, d=6, n_names=6, per_name=8):
    rng = np.random.default_rng(seed)
    n = 2 * n_names * per_name
    y = np.repeat([False, True], n // 2)
    name = np.array([f"{'B' if b else 'A'}{i // per_name % n_names}" for i, b in enumerate(y)])
    x = rng.standard_normal((n, d)) + 0.8 * y[:, None] * (np.arange(d) < 2)
    return rng.standard_normal((80, d)), x, y, name


def test_each_replicate_refits_on_the_drawn_records_and_weights_them_by_their_draws():
    trusted, x, y, name = _data()
    agree = np.arange(len(y)) % 3 > 0

    def refit(draw):
        return make_detector("que", {}).fit(trusted, x[draw]).score(x)[None]

    n_refit = 40
    got = refit_intervals(refit, y, name, agree, n_refit, seed=7)
    assert len(got) == 1
    # By hand: the same name draws; QUE refitted on the drawn records (with their counts); the
    # replicate's AUROC weighted by the counts (sklearn, independent of weighted_auroc).
    w = name_weights(y, name, n_refit, refit_stream(7), "keep")
    reps = []
    for r in range(n_refit):
        s = make_detector("que", {}).fit(trusted, x[np.repeat(np.arange(len(y)), w[r])]).score(x)
        reps.append(roc_auc_score(y, s, sample_weight=w[r]))
    assert got[0]["ci_low_name"] == pytest.approx(np.quantile(reps, 0.025))
    assert got[0]["ci_high_name"] == pytest.approx(np.quantile(reps, 0.975))
    assert {"ci_low_name_agree", "ci_high_name_disagree"} <= set(got[0])


def test_which_detectors_are_transductive():
    assert is_transductive(make_detector("que", {}))
    assert is_transductive(make_detector("likelihood_ratio", {}))
    assert is_transductive(make_detector("gaussian_em", {}))
    assert not is_transductive(make_detector("que", {"untrusted": "easy"}))
    assert not is_transductive(make_detector("mahalanobis", {}))


@pytest.fixture
def store(tmp_path):
    trusted, x, y, name = _data(seed=1, d=10)
    n_t = len(trusted)
    acts = np.concatenate([trusted, x])[:, None, :].repeat(2, axis=1).astype(np.float32)
    meta = pd.DataFrame({"id": [f"e{i}" for i in range(len(acts))],
                         "role": ["trusted"] * n_t + list(np.where(y, "test_anomalous", "test_normal")),
                         "name": ["T"] * n_t + list(name), "character": "Alice",
                         "agree": np.arange(len(acts)) % 2 == 0})  # fmt: skip
    path = tmp_path / "s.zarr"
    write_store(path, {"activations": (("example", "layer", "d_model"), acts)}, meta, [1, 2], {})
    return path


@pytest.mark.parametrize("batched", [True, False])
def test_score_store_refits_transductive_detectors_only(tmp_path, store, batched):
    def table(detector, n_refit):
        return score_store(store, "activations", detector, {}, tmp_path / "s.parquet",
                           tmp_path / "a.parquet", LABELS, batched=batched,
                           scoring=ScoringSettings(n_bootstrap=200, n_permutations=0,
                                                   n_refit=n_refit)).set_index("layer")  # fmt: skip

    fixed, refit = table("que", 0), table("que", 60)
    assert (fixed["ci_name_refits"] == 0).all() and (refit["ci_name_refits"] == 60).all()
    assert (fixed["auroc"] == refit["auroc"]).all()
    assert not np.allclose(fixed["ci_low_name"], refit["ci_low_name"])
    assert (table("mahalanobis", 60)["ci_name_refits"] == 0).all()
