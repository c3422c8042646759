"""The name-relabelling null: group sizes kept, names move together, p calibrated."""

import numpy as np
import pytest

from quirkymad.stats.auroc import relabelled_auroc
from quirkymad.stats.permutation import name_relabellings, p_chance


def test_relabellings_keep_names_together_and_group_sizes():
    y = np.repeat([False, True], [50, 40])
    name = np.r_[np.repeat(["a", "b", "c", "d", "e"], 10), np.repeat(["f", "g", "h", "i"], 10)]
    labels = name_relabellings(y, name, 300, np.random.default_rng(0))
    for row in labels:
        groups = {n: set(row[name == n]) for n in np.unique(name)}
        assert all(len(v) == 1 for v in groups.values())  # a name is on one side only
        assert sum(v == {True} for v in groups.values()) == 4  # as many "Bob" names as observed
    assert 10 < labels[:, 0].sum() < 290  # name "a" lands on both sides across relabellings


def test_a_name_on_both_sides_is_rejected():
    with pytest.raises(ValueError, match="both sides"):
        name_relabellings(np.array([0, 1], bool), np.array(["a", "a"]), 5, np.random.default_rng(0))


def test_p_chance_formula():
    null = np.array([0.5, 0.6, 0.4, 0.45])
    assert p_chance(0.5, null) == 1.0
    assert p_chance(0.9, null) == pytest.approx(1 / 5)
    assert p_chance(0.4, null) == pytest.approx(3 / 5)  # two-sided: 0.6 and 0.4 as extreme


def _case(rng, signal, offset_sd=0.5, n_names=12, per_name=20):
    side = np.repeat([False, True], n_names * per_name)
    name = np.repeat(np.arange(2 * n_names), per_name).astype(str)
    s = np.repeat(rng.normal(0, offset_sd, 2 * n_names), per_name)
    s = s + rng.normal(size=len(side)) + signal * side
    return side, name, s


def test_p_chance_small_for_a_real_difference_and_uniformish_under_the_null():
    rng = np.random.default_rng(1)
    y, name, s = _case(rng, signal=2.0)
    labels = name_relabellings(y, name, 1000, rng)
    obs = relabelled_auroc(s, y[None])[0]
    assert p_chance(obs, relabelled_auroc(s, labels)) < 0.01
    ps = []
    for _ in range(40):  # null cases with name offsets: example-level tests reject often
        y, name, s = _case(rng, signal=0.0)
        labels = name_relabellings(y, name, 200, rng)
        ps.append(p_chance(relabelled_auroc(s, y[None])[0], relabelled_auroc(s, labels)))
    assert np.mean(np.array(ps) < 0.05) <= 0.2
    assert 0.3 < np.mean(ps) < 0.7
