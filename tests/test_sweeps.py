"""Axes of difficulty (issue 20): record selection of the sweep points, the extra records a
store holds for them, the config checks, and one point scored end to end on a small store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quirkymad.core.errors import QuirkyError
from quirkymad.core.store import write_store
from quirkymad.datasets.selection import SWEEP_ROLES, mad_examples
from quirkymad.scoring.sweeps import (
    contamination_split,
    nested_subsets,
    point_draws,
    score_point,
    value_label,
)
from quirkymad.stats.settings import ScoringSettings
from quirkymad.workflow.config import schema_errors
from quirkymad.workflow.sweeps import (
    check_pools,
    check_sweeps,
    extra_roles,
    point_settings,
    sweep_points,
)

ROLES = (["trusted"] * 40 + ["untrusted_alice"] * 30 + ["untrusted_bob"] * 30
         + ["test_normal"] * 20 + ["test_anomalous"] * 20 + ["trusted_medium"] * 25
         + ["trusted_hard"] * 24 + ["test_normal_easy"] * 10 + ["test_anomalous_easy"] * 10)  # fmt: skip
ROLE = np.array(ROLES, dtype=object)


def _settings(axis, value, **kw):
    return {"axis": axis, "value": value, "seed": 0, "draws": 3, "size": None, **kw}


def _config(**sweeps):
    return {
        "seed": 0,
        "datasets": {"addition": {"n_base": 3000}},
        "extract": {"max_per_role": 60},
        "features": {"activations": {}, "attribution": {}},
        "scoring": {"n_bootstrap": 20, "name_bootstrap": "keep"},
        "sweeps": sweeps,
    }


def test_nested_subsets_are_nested_seeded_and_distinct():
    pool = np.arange(100, 140)
    subs = nested_subsets(pool, [8, 16, 40], draws=3, seed=0)
    assert [len(s) for s in subs[8]] == [8, 8, 8] and len(subs[40]) == 1  # the whole pool once
    for d in range(3):
        assert set(subs[8][d]) <= set(subs[16][d]) <= set(pool)
    assert len({tuple(s) for s in subs[8]}) == 3  # the draws differ
    again = nested_subsets(pool, [8], draws=3, seed=0)
    assert all((a == b).all() for a, b in zip(again[8], subs[8]))
    other = nested_subsets(pool, [8], draws=3, seed=1)
    assert any((a != b).any() for a, b in zip(other[8], subs[8]))


def test_n_trusted_draws_subsets_of_the_trusted_records():
    draws = point_draws(ROLE, "n_trusted", 16, _settings("n_trusted", 16))
    assert len(draws) == 3
    for d in draws:
        assert d.trusted.sum() == 16 and (ROLE[d.trusted] == "trusted").all()
        assert d.untrusted is None  # the detector's own choice, as in the main scoring
        assert set(ROLE[d.test]) == {"test_normal", "test_anomalous"}
        assert (d.anomalous[d.test] == (ROLE[d.test] == "test_anomalous")).all()
    whole = point_draws(ROLE, "n_trusted", "all", _settings("n_trusted", "all"))
    assert len(whole) == 1 and whole[0].trusted.sum() == 40


@pytest.mark.parametrize("fraction", [0, 0.1, 0.5, 1])
def test_contamination_is_the_fraction_of_bob_records_at_a_fixed_size(fraction):
    draws = point_draws(ROLE, "contamination", fraction, _settings("contamination", fraction))
    assert len(draws) == 3
    for d in draws:
        u = ROLE[d.untrusted]
        assert len(u) == 30  # default size: min(untrusted Alice, untrusted Bob)
        assert (u == "untrusted_bob").sum() == round(fraction * 30)
        assert set(u) <= {"untrusted_alice", "untrusted_bob"}
    assert contamination_split(64, 0.01) == (63, 1) and contamination_split(10, 0.5) == (5, 5)
    sized = point_draws(ROLE, "contamination", 0.1, _settings("contamination", 0.1, size=20))
    assert ROLE[sized[0].untrusted].tolist().count("untrusted_bob") == 2


def test_untrusted_axis():
    none, easy, test = (point_draws(ROLE, "untrusted", v, _settings("untrusted", v))[0]
                        for v in ("none", "easy", "test"))  # fmt: skip
    assert (none.untrusted == none.trusted).all()  # no data beyond the trusted set: online
    assert set(ROLE[easy.untrusted]) == {"untrusted_alice", "untrusted_bob"}
    assert (test.untrusted == test.test).all()


def test_trusted_difficulty_draws_equal_sizes_from_each_band():
    sizes = {}
    for band, roles in [("easy", {"trusted"}), ("medium", {"trusted_medium"}),
                        ("hard", {"trusted_hard"}),
                        ("all", {"trusted", "trusted_medium", "trusted_hard"})]:  # fmt: skip
        draws = point_draws(ROLE, "trusted_difficulty", band, _settings("trusted_difficulty", band))
        for d in draws:
            assert set(ROLE[d.trusted]) <= roles
            assert set(ROLE[d.test]) == {"test_normal", "test_anomalous"}  # test fixed at hard
        sizes[band] = {int(d.trusted.sum()) for d in draws}
    assert set().union(*sizes.values()) == {24}  # the smallest band


def test_test_difficulty_is_balanced_and_trusted_fixed_at_easy():
    d = point_draws(ROLE, "test_difficulty", "easy", _settings("test_difficulty", "easy"))[0]
    assert (ROLE[d.trusted] == "trusted").all() and d.trusted.sum() == 40
    assert sorted(ROLE[d.test]) == ["test_anomalous_easy"] * 10 + ["test_normal_easy"] * 10
    assert (d.anomalous[d.test] == (ROLE[d.test] == "test_anomalous_easy")).all()


@pytest.mark.parametrize(
    "axis, value, kw",
    [("n_trusted", 41, {}), ("contamination", 0.5, {"size": 80}),
     ("trusted_difficulty", "easy", {"size": 41}), ("test_difficulty", "medium", {})],
)  # fmt: skip
def test_a_point_the_store_cannot_serve_says_what_it_holds(axis, value, kw):
    with pytest.raises(QuirkyError, match="the store holds .*trusted 40") as exc:
        point_draws(ROLE, axis, value, _settings(axis, value, **kw))
    assert "\n" not in str(exc.value)


def test_sweep_records_are_extracted_only_when_a_sweep_needs_them(addition_parquet):
    df = pd.read_parquet(addition_parquet)
    plain = mad_examples(df, 60)
    assert not set(plain["role"]) & set(SWEEP_ROLES)
    assert mad_examples(df, 60, ()).equals(plain)  # no sweep: the MAD run's records, unchanged
    more = mad_examples(df, 60, SWEEP_ROLES)
    assert more.iloc[: len(plain)].equals(plain)  # the MAD records first, as before
    extra = more.iloc[len(plain) :]
    counts = extra["role"].value_counts()
    assert set(counts.index) == set(SWEEP_ROLES) and counts.max() <= 60
    for band in ("easy", "medium"):
        assert counts[f"test_normal_{band}"] == counts[f"test_anomalous_{band}"]
        part = extra[extra["role"].str.startswith("test_") & extra["role"].str.endswith(band)]
        assert set(part["bucket"]) == {band} and set(part["split"]) == {"test"}
        assert (part["name_index"] >= 4).all()
    for band in ("medium", "hard"):
        part = extra[extra["role"] == f"trusted_{band}"]
        assert set(part["bucket"]) == {band} and set(part["character"]) == {"Alice"}
        assert set(part["split"]) == {"train"} and (part["name_index"] < 4).all()
    assert not set(extra["id"]) & set(plain["id"])
    # Which sweeps need which records: the bands of the axes they sweep, per feature.
    cfg = _config(trusted_difficulty={"values": ["easy"]}, n_trusted={"values": [8]})
    assert extra_roles(cfg, "activations") == ["trusted_hard", "trusted_medium"]
    assert extra_roles(cfg, "attribution") == []
    assert extra_roles(_config(n_trusted={"values": [8]}), "activations") == []


def test_points_and_their_settings():
    cfg = _config(n_trusted={"values": [8, "all"], "detectors": ["mahalanobis"]},
                  contamination={"values": [0, 0.01]})  # fmt: skip
    points = sweep_points(cfg)
    assert ("n_trusted", "activations", "mahalanobis", "8") in points
    assert ("contamination", "activations", "que", "0.01") in points
    assert len(points) == 2 * 1 + 2 * 3  # default detectors: mahalanobis, lof, que
    assert value_label(0.5) == "0.5" and value_label(16) == "16" and value_label("all") == "all"
    s = point_settings(cfg, "n_trusted", "8")
    assert s == {"axis": "n_trusted", "value": 8, "seed": 0, "draws": 5, "n_bootstrap": 20,
                 "name_bootstrap": "keep"}  # fmt: skip
    # Another value leaves this point's settings (its params) alone.
    more = _config(n_trusted={"values": [8, 16, "all"], "detectors": ["mahalanobis"]})
    assert point_settings(more, "n_trusted", "8") == s


@pytest.mark.parametrize(
    "sweeps, message",
    [({"difficulty": {"values": [1]}}, "unknown key sweeps.difficulty"),
     ({"n_trusted": {"values": [8], "size": 3}}, "unknown key sweeps.n_trusted.size"),
     ({"untrusted": {"values": ["some"]}}, "sweeps.untrusted.values.0"),
     ({"contamination": {"values": [1.5]}}, "sweeps.contamination.values.0")],
)  # fmt: skip
def test_the_schema_rejects_bad_sweeps(sweeps, message):
    errors = schema_errors({"models": {}, "datasets": {}, "detectors": {}, "sweeps": sweeps})
    assert any(message in e for e in errors), errors


def test_check_sweeps_one_line_naming_the_key(addition_parquet, tmp_path):
    with pytest.raises(QuirkyError, match=r"^config: sweeps.n_trusted.values: 500 > .*= 60\)$"):
        check_sweeps(_config(n_trusted={"values": [8, 500]}))
    with pytest.raises(QuirkyError, match="sweeps.n_trusted.features: probe_shift is not"):
        check_sweeps(_config(n_trusted={"values": [8], "features": ["probe_shift"]}))
    with pytest.raises(QuirkyError, match="repeats a value"):
        check_sweeps(_config(contamination={"values": [0.1, 0.10000000001]}))
    # Against a built dataset: the trusted pool is smaller than max_per_role.
    data = tmp_path / "results/datasets/addition/data.parquet"
    data.parent.mkdir(parents=True)
    data.symlink_to(addition_parquet)
    cfg = _config(n_trusted={"values": [8, 63]})
    cfg["extract"]["max_per_role"] = 100
    check_pools(cfg, tmp_path / "results")  # 63 trusted records in this dataset
    cfg["sweeps"]["n_trusted"]["values"] = [8, 64]
    with pytest.raises(QuirkyError) as exc:
        check_pools(cfg, tmp_path / "results")
    msg = str(exc.value)
    assert msg.startswith("config: sweeps.n_trusted.values: 64: 64 trusted records asked, the"
                          " store holds ") and "trusted 63" in msg  # fmt: skip
    assert msg.endswith("(dataset addition)")
    assert "\n" not in msg


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(1)
    n, layers, d = len(ROLES), [1, 2], 8
    acts = rng.standard_normal((n, len(layers), d)).astype(np.float32)
    bob = np.isin(ROLE, ["test_anomalous", "untrusted_bob", "test_anomalous_easy"])
    acts[bob, :, :2] += 2.0
    meta = pd.DataFrame({"id": [f"e{i}" for i in range(n)], "role": ROLES,
                         "character": np.where(bob, "Bob", "Alice"), "agree": rng.random(n) < 0.5,
                         "name": [f"n{i % 7}" for i in range(n)]})  # fmt: skip
    path = tmp_path / "acts.zarr"
    write_store(path, {"activations": (("example", "layer", "d_model"), acts)}, meta, layers, {})
    return path


@pytest.mark.parametrize("detector", ["mahalanobis", "lof", "que"])
def test_score_point_averages_its_draws(store, tmp_path, detector):
    settings = {**_settings("n_trusted", 16), "n_bootstrap": 20, "name_bootstrap": "keep"}
    out = tmp_path / "point"
    labels = {"model": "m", "dataset": "d", "transform": "none"}
    summary = score_point(store, out, "activations", detector, {}, settings, labels)
    draws = pd.read_parquet(out / "draws.parquet")
    assert sorted(draws["draw"].unique()) == [0, 1, 2]
    assert (draws["n_trusted"] == 16).all()
    assert list(summary["layer"]) == ["1", "2", "all"] and (summary["n_draws"] == 3).all()
    assert summary[["axis", "value"]].drop_duplicates().values.tolist() == [["n_trusted", "16"]]
    mean = draws.groupby("layer", sort=False)["auroc"].mean().to_numpy()
    np.testing.assert_allclose(summary["auroc"], mean)
    assert (summary.loc[summary["layer"] == "all", "auroc"] > 0.6).all()  # Bob is shifted
    assert summary["auroc_sd_draws"].ge(0).all()
    back = pd.read_parquet(out / "auroc.parquet")
    pd.testing.assert_frame_equal(back, summary)


def test_score_point_outside_the_store_is_one_line(store, tmp_path):
    settings = {**_settings("n_trusted", 41), "n_bootstrap": 0, "name_bootstrap": "keep"}
    with pytest.raises(QuirkyError, match=r"^sweeps.n_trusted.values: 41: .*the store holds"):
        score_point(store, tmp_path / "p", "activations", "lof", {}, settings, {})
    assert not (tmp_path / "p").exists()


def test_collected_sweep_table_and_figure(store, tmp_path):
    from quirkymad.figures import draw
    from quirkymad.scoring.sweeps import collect_sweep

    dirs = []
    for det in ("mahalanobis", "lof"):
        for value in ("all", 8, 16):  # config order, not sorted
            settings = {**_settings("n_trusted", value), "n_bootstrap": 20,
                        "name_bootstrap": "keep"}  # fmt: skip
            out = tmp_path / det / value_label(value)
            score_point(store, out, "activations", det, {}, settings,
                        {"model": "m", "dataset": "d", "transform": "none"})  # fmt: skip
            dirs.append(out)
    table = collect_sweep(dirs, tmp_path / "t.parquet", tmp_path / "t.csv", ["8", "16", "all"])
    agg = table[(table["layer"] == "all") & (table["detector"] == "lof")]
    assert list(agg["value"]) == ["8", "16", "all"]
    assert pd.read_csv(tmp_path / "t.csv").shape[0] == len(table)
    draw(
        "sweep_n_trusted", {"sweep": tmp_path / "t.parquet"}, tmp_path / "f.png", tmp_path / "f.pdf"
    )
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("detector", ["mahalanobis", "que"])
def test_the_default_point_reproduces_the_main_scoring_job(store, tmp_path, detector):
    from quirkymad.scoring.stage import score_store

    labels = {"model": "m", "dataset": "d", "transform": "none"}
    main = score_store(
        store,
        "activations",
        detector,
        {},
        tmp_path / "s.parquet",
        tmp_path / "a.parquet",
        labels,
        # sweep points resample fixed scores (docs/sweeps.md); the main job's refitted
        # intervals of transductive detectors (issue 28) are compared off here
        scoring=ScoringSettings(n_bootstrap=20, n_permutations=0, n_refit=0),
    )
    for axis, value in (("n_trusted", "all"), ("untrusted", "test"), ("test_difficulty", "hard")):
        settings = {**_settings(axis, value), "n_bootstrap": 20, "name_bootstrap": "keep"}
        point = score_point(store, tmp_path / axis, "activations", detector, {}, settings, labels)
        for col in ("auroc", "ci_low_name", "ci_high_name"):
            np.testing.assert_allclose(point[col], main[col], err_msg=f"{axis} {col}")
