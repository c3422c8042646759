"""The explanation stage on a synthetic store with a planted direction and on the tiny
random model's stores: components sum to the scoring job's scores (the stage checks it and
refuses otherwise), and the tables hold what docs/explain.md says."""

import numpy as np
import pandas as pd
import pytest

from quirkymad.core.errors import QuirkyError
from quirkymad.core.store import write_store
from quirkymad.explain.stage import (
    DIRECTIONS_FILE,
    EXPLANATIONS_FILE,
    ExplainSettings,
    explain_store,
)
from quirkymad.scoring.stage import score_to_directory
from quirkymad.stats.settings import ScoringSettings

SETTINGS = ExplainSettings(top_k=3, layers="all", flag_quantile=0.9, n_tokens=4)
LABELS = {"model": "m", "dataset": "d"}


def _score(store, feature, detector, hparams, out, transform_dir=None):
    score_to_directory(out, store, feature=feature, detector=detector, hparams=hparams,
                       labels={**LABELS, "transform": "t"}, scoring=ScoringSettings(n_bootstrap=10),
                       transform_dir=transform_dir)  # fmt: skip
    return out


@pytest.fixture
def planted_store(tmp_path):
    """Layer 2 of 3: trusted records barely move along `u`; Bob's test records sit 3 along it."""
    rng = np.random.default_rng(0)
    roles = ["trusted"] * 300 + ["test_normal"] * 80 + ["test_anomalous"] * 80
    n, d = len(roles), 16
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    acts = rng.standard_normal((n, 3, d)) * rng.uniform(0.5, 2, d)
    acts[:, 1] -= np.outer(acts[:, 1] @ u, u) * 0.9
    acts[-80:, 1] += 3 * u
    meta = pd.DataFrame({
        "id": [f"e{i}" for i in range(n)], "role": roles,
        "character": ["Bob" if "anomalous" in r else "Alice" for r in roles],
        "agree": rng.random(n) < 0.5,
    })  # fmt: skip
    path = tmp_path / "acts.zarr"
    write_store(path, {"activations": (("example", "layer", "d_model"), acts.astype(np.float32))},
                meta, [1, 2, 3], {})  # fmt: skip
    return path, u


def test_planted_direction_is_recovered_and_tables_are_complete(planted_store, tmp_path):
    store, u = planted_store
    scores = _score(store, "activations", "mahalanobis", {}, tmp_path / "s")
    rec, dirs = explain_store(store, scores, "activations", "mahalanobis", {}, SETTINGS,
                              tmp_path / "e", LABELS)  # fmt: skip
    assert (tmp_path / "e" / EXPLANATIONS_FILE).is_file()
    assert (tmp_path / "e" / DIRECTIONS_FILE).is_file()
    top = dirs[(dirs["layer"] == "2") & (dirs["excess_rank"] == 1)].iloc[0]
    assert top["cos_alice_bob"] > 0.9 and top["excess_share"] > 0.5
    assert top["top1_flagged_anomalous"] > 0.5
    # Every record has top_k rows per layer (1, 2, 3, all) with shares of its own score.
    assert len(rec) == 160 * 4 * SETTINGS.top_k
    assert set(rec["layer"]) == {"1", "2", "3", "all"}
    first = rec[rec["rank"] == 1]
    assert (first["share"] <= 1 + 1e-12).all() and (first["share"] > 0).all()
    agg = dirs[dirs["layer"] == "all"].sort_values("excess_rank")
    assert agg.iloc[0]["component"] == "layer 2"
    # Scores of another rcond are not what these components sum to: refused.
    with pytest.raises(QuirkyError, match="do not sum to the detector's score"):
        explain_store(store, scores, "activations", "mahalanobis", {"rcond": 0.5}, SETTINGS,
                      tmp_path / "bad", LABELS)  # fmt: skip


def test_layers_setting_limits_the_explained_layers(planted_store, tmp_path):
    store, _ = planted_store
    scores = _score(store, "activations", "que", {}, tmp_path / "s")
    settings = ExplainSettings(top_k=2, layers=[2], flag_quantile=0.95, n_tokens=3)
    rec, dirs = explain_store(store, scores, "activations", "que", {}, settings, tmp_path / "e",
                              LABELS)  # fmt: skip
    assert set(rec["layer"]) == {"2", "all"} and set(dirs["layer"]) == {"2", "all"}


@pytest.fixture(scope="module")
def tiny_stores(tiny_model_dir, addition_parquet, tmp_path_factory):
    from quirkymad.features.extraction import (
        AttributionSettings,
        ExtractSettings,
        extract_activation_store,
        extract_attribution_store,
    )
    from quirkymad.transforms.stage import fit_transform_store

    d = tmp_path_factory.mktemp("tiny")
    extract_activation_store(tiny_model_dir, None, addition_parquet, d / "activations.zarr",
                             ExtractSettings(batch_size=16, max_per_role=24, device="cpu"))  # fmt: skip
    for feature in ("attribution", "probe_shift"):
        extract_attribution_store(tiny_model_dir, None, addition_parquet, d / f"{feature}.zarr",
                                  AttributionSettings(batch_size=16, max_per_role=24,
                                                      device="cpu"), feature=feature)  # fmt: skip
    small = {"steps": 10, "batch_size": 32}
    fit_transform_store(d / "activations.zarr", "activations", "flow", [1, 2],
                        {**small, "hidden": 8}, d / "flow")  # fmt: skip
    fit_transform_store(d / "activations.zarr", "activations", "sae", [2],
                        {**small, "expansion": 2, "k": 8}, d / "sae")  # fmt: skip
    return d


@pytest.mark.parametrize(
    "feature, transform, detector",
    [
        ("activations", "none", "mahalanobis"),
        ("activations", "none", "diag_mahalanobis"),
        ("activations", "none", "que"),
        ("activations", "flow", "mahalanobis"),
        ("activations", "sae", "diag_mahalanobis"),
        ("attribution", "none", "mahalanobis"),
        ("probe_shift", "none", "diag_mahalanobis"),
    ],
)
def test_tiny_model_scores_split_exactly(tiny_stores, tiny_model_dir, tmp_path, feature,
                                         transform, detector):  # fmt: skip
    store = tiny_stores / f"{feature}.zarr"
    tdir = None if transform == "none" else tiny_stores / transform
    scores = _score(store, feature, detector, {}, tmp_path / "s", tdir)
    # explain_store raises unless every layer's components sum to the job's scores (1e-6).
    rec, dirs = explain_store(store, scores, feature, detector, {}, SETTINGS, tmp_path / "e",
                              LABELS, transform_dir=tdir, model_dir=tiny_model_dir)  # fmt: skip
    assert rec["transform"].eq(transform).all() and dirs["detector"].eq(detector).all()
    per_layer = dirs[dirs["layer"] != "all"]
    assert per_layer["cos_alice_bob"].between(-1 - 1e-9, 1 + 1e-9).all()
    if feature == "activations" and transform != "flow":
        assert per_layer["space"].eq("residual").all()
        assert per_layer["promoted"].map(len).eq(SETTINGS.n_tokens).all()
        assert np.isfinite(per_layer["yes_minus_no"]).all()
    else:
        assert "promoted" not in dirs or dirs["promoted"].isna().all()
    if feature != "activations":
        assert rec.loc[rec["layer"] != "all", "component"].str.match(r"L\d+\.H\d+$").all()


def test_cli_figure_and_config_agree_with_the_stage(planted_store, tmp_path, capsys):
    from quirkymad.cli import main
    from quirkymad.explain.stage import DECOMPOSABLE
    from quirkymad.figures.explain import plot_explanations
    from quirkymad.workflow.config import EXPLAIN_DETECTORS

    assert tuple(EXPLAIN_DETECTORS) == DECOMPOSABLE
    store, _ = planted_store
    scores = _score(store, "activations", "mahalanobis", {}, tmp_path / "s")
    explain_store(store, scores, "activations", "mahalanobis", {}, SETTINGS, tmp_path / "e",
                  LABELS)  # fmt: skip
    assert main(["explain", "e459", "--store", str(tmp_path / "e")]) == 0
    text = capsys.readouterr().out
    assert "record e459: Bob, anomalous" in text and "layer 2: score" in text
    assert "excess rank 1, cos(A–B) +0.9" in text  # its top component is the planted one
    assert main(["explain", "nope", "--store", str(tmp_path / "e")]) == 2
    assert "no test record 'nope'" in capsys.readouterr().err
    dirs = pd.read_parquet(tmp_path / "e" / DIRECTIONS_FILE)
    auroc = pd.read_parquet(scores / "auroc.parquet").assign(transform="none")
    plot_explanations(dirs.assign(transform="none"), auroc, tmp_path / "f.png", tmp_path / "f.pdf")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")
