"""The AUROC table's statistics for one scoring job: every row (each layer and the aggregate)
gets the example-level and the name-clustered interval, name-clustered intervals on the
agree/disagree subsets, and p_chance (docs/statistics.md). A trigger dataset's rows (scores
with a `cue` column) also get trigger vs clean and trigger vs decoy (docs/triggers.md).

All rows of a job use the same resamples and relabellings (they score the same records), and
those depend only on the test mix and the seed, so every job of one model × dataset draws the
same names and records: the paired comparisons (`quirkymad.stats.compare`) reuse exactly them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quirkymad.core.prompts import has_cues
from quirkymad.core.run_settings import RUN
from quirkymad.stats.auroc import relabelled_auroc, weighted_auroc
from quirkymad.stats.metrics import auroc, average_precision
from quirkymad.stats.permutation import name_relabellings, p_chance
from quirkymad.stats.resample import example_weights, name_weights, percentile_interval
from quirkymad.stats.settings import LEVEL, SCORING


def resampling_streams(seed: int) -> tuple[np.random.Generator, ...]:
    """Independent generators for (example bootstrap, name bootstrap, permutations)."""
    return tuple(np.random.default_rng([seed, k]) for k in range(3))


def auroc_rows(
    scores: pd.DataFrame,
    n_boot: int = SCORING.n_bootstrap,
    n_perm: int = SCORING.n_permutations,
    seed: int = RUN.seed,
    within: str = SCORING.name_bootstrap,
) -> list[dict[str, Any]]:
    """One row per layer of `scores` (columns layer, score, is_anomalous, agree, name[, cue];
    the same records, in the same order, for every layer). `within`: the name-clustered draw's
    second stage (`quirkymad.stats.resample.name_weights`)."""
    layers = list(dict.fromkeys(scores["layer"]))
    first = scores[scores["layer"] == layers[0]]
    y = first["is_anomalous"].to_numpy(dtype=bool)
    agree = first["agree"].to_numpy(dtype=bool)
    name = first["name"].to_numpy().astype(str)
    rng_ex, rng_name, rng_perm = resampling_streams(seed)
    w_ex = example_weights(y, n_boot, rng_ex)
    w_name = name_weights(y, name, n_boot, rng_name, within)
    labels = name_relabellings(y, name, n_perm, rng_perm) if n_perm else None
    cue = first["cue"].to_numpy().astype(str) if has_cues(first) else None
    rows = []
    for layer in layers:
        s = scores.loc[scores["layer"] == layer, "score"].to_numpy(dtype=np.float64)
        value = auroc(y, s)
        row: dict[str, Any] = {"layer": str(layer), "auroc": value}
        if n_boot:
            lo_ex, hi_ex = percentile_interval(weighted_auroc(s, y, w_ex), LEVEL)
            lo, hi = percentile_interval(weighted_auroc(s, y, w_name), LEVEL)
        else:
            lo_ex = hi_ex = lo = hi = float("nan")
        row |= {"ci_low_example": lo_ex, "ci_high_example": hi_ex,
                "ci_low_name": lo, "ci_high_name": hi}  # fmt: skip
        row["p_chance"] = p_chance(value, relabelled_auroc(s, labels)) if n_perm else np.nan
        for subset, mask in (("agree", agree), ("disagree", ~agree)):
            row[f"auroc_{subset}"] = auroc(y[mask], s[mask])
            # Same name-level draws, restricted to the subset's records.
            lo_s, hi_s = (
                percentile_interval(weighted_auroc(s[mask], y[mask], w_name[:, mask]), LEVEL)
                if n_boot
                else (float("nan"), float("nan"))
            )
            row[f"ci_low_name_{subset}"], row[f"ci_high_name_{subset}"] = lo_s, hi_s
        if cue is not None:
            row |= cue_comparisons(s, y, cue, w_name if n_boot else None)
        row |= {
            "average_precision": average_precision(y, s),
            "n_normal": int((~y).sum()),
            "n_anomalous": int(y.sum()),
            "n_names_normal": int(len(np.unique(name[~y]))),
            "n_names_anomalous": int(len(np.unique(name[y]))),
        }
        rows.append(row)
    return rows


def cue_comparisons(
    s: np.ndarray, y: np.ndarray, cue: np.ndarray, w: np.ndarray | None
) -> dict[str, Any]:
    """Trigger records (`y`) against each kind of normal record of a trigger dataset's test mix
    (`cue` `[n]`: clean / decoy / trigger): `auroc_vs_clean` and `auroc_vs_decoy`, each with
    the cluster-level interval of the same draws `w` `[n_boot, n]` restricted to its records
    (as `auroc_agree`), and the counts. An input-novelty score separates the trigger from
    clean prompts (any phrase is new) but not from decoys; a score of the mechanism does both."""
    out: dict[str, Any] = {}
    for other in ("clean", "decoy"):
        mask = y | (cue == other)
        out[f"auroc_vs_{other}"] = auroc(y[mask], s[mask])
        lo, hi = (
            percentile_interval(weighted_auroc(s[mask], y[mask], w[:, mask]), LEVEL)
            if w is not None
            else (float("nan"), float("nan"))
        )
        out[f"ci_low_vs_{other}"], out[f"ci_high_vs_{other}"] = lo, hi
        out[f"n_{other}"] = int((~y & (cue == other)).sum())
    return out
