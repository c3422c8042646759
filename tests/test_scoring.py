"""score_store: the batched all-layer path gives the per-layer detectors' scores."""

import numpy as np
import pandas as pd
import pytest

from quirkymad.core.store import write_store
from quirkymad.scoring.stage import score_store
from quirkymad.stats.settings import ScoringSettings

LABELS = {"model": "m", "dataset": "d", "transform": "none"}


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(1)
    roles = ["trusted"] * 150 + ["untrusted_alice"] * 20 + ["untrusted_bob"] * 20
    roles += ["test_normal"] * 40 + ["test_anomalous"] * 40
    n, layers, d = len(roles), [1, 3, 4, 7], 12
    acts = rng.standard_normal((n, len(layers), d)).astype(np.float32)
    acts[-40:, :, :3] += 1.5
    meta = pd.DataFrame({
        "id": [f"e{i}" for i in range(n)], "role": roles,
        "character": ["Bob" if "anomalous" in r or "bob" in r else "Alice" for r in roles],
        "agree": rng.random(n) < 0.5,
    })  # fmt: skip
    path = tmp_path / "acts.zarr"
    write_store(path, {"activations": (("example", "layer", "d_model"), acts)}, meta, layers, {})
    return path


@pytest.mark.parametrize(
    "detector, hparams",
    [("mahalanobis", {}), ("diag_mahalanobis", {}), ("que", {}), ("que", {"untrusted": "easy"}),
     ("pca_mahalanobis", {"n_components": 5}), ("pca_mahalanobis", {"n_components": 0.5}),
     ("likelihood_ratio", {}), ("likelihood_ratio", {"untrusted": "easy"}),
     ("gaussian_em", {}), ("gaussian_em", {"untrusted": "easy"})],
)  # fmt: skip
def test_batched_equals_per_layer(tmp_path, store, detector, hparams, monkeypatch):
    def run(batched, tag):
        score_store(
            store,
            "activations",
            detector,
            hparams,
            tmp_path / f"s{tag}.parquet",
            tmp_path / f"a{tag}.parquet",
            LABELS,
            scoring=ScoringSettings(n_bootstrap=20, n_refit=0),  # scores only
            batched=batched,
        )
        return pd.read_parquet(tmp_path / f"s{tag}.parquet")

    import quirkymad.scoring.stage as scoring

    calls = []
    real = scoring._batched_scores
    monkeypatch.setattr(scoring, "_batched_scores", lambda *a: calls.append(real(*a)) or calls[-1])
    per_layer = run(False, "p")
    assert not calls
    # A chunk of one layer at a time exercises the chunking too.
    monkeypatch.setattr(scoring, "BATCH_BYTES", 1)
    batched = run(True, "b")
    assert calls and all(c is not None for c in calls)
    np.testing.assert_allclose(batched["score"], per_layer["score"], rtol=1e-6)
    assert (batched["layer"] == per_layer["layer"]).all()
