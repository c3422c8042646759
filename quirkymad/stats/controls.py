"""Controls of every AUROC (issue 28, item 2; docs/statistics.md "Controls").

The paper's name lists put 9 male names among Bob's 12 held-out names and 5 (+ one ambiguous)
among Alice's, so a detector can separate the test mix's sides by name gender alone. Per
layer-aggregated score this module gives:

- `auroc_male`, `auroc_female`: the AUROC among records whose name has that gender (ambiguous
  and unknown names excluded), each with the name-clustered interval (the AUROC table's name
  draws, restricted to the subset, as for `auroc_agree`);
- `auroc_gender_only`: the AUROC of the score "1 if the name is male else 0" (the confound's
  own strength on this test mix), with its name-clustered interval;
- `p_chance_gender`: p_chance under the gender-stratified name null: held-out names are
  re-split within gender (`name_relabellings(..., strata=gender)`), so each side keeps its
  gender mix; a score that reads only gender gets p = 1 under it;
- `auroc_base`, `ci_{low,high}_name_base`, `p_chance_base`: the same detector on the base
  (un-fine-tuned) model's activations of the same records, scored by the same scoring job
  (rule `score_control`): what the names and records give without the quirk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quirkymad.core.integrity import read_parquet
from quirkymad.core.prompts import TRIGGER_SPEAKER, has_cues, name_gender
from quirkymad.core.run_settings import RUN
from quirkymad.core.tables import AUROC_FILE, SCORES_FILE, write_table
from quirkymad.stats.auroc import relabelled_auroc, weighted_auroc
from quirkymad.stats.metrics import auroc
from quirkymad.stats.permutation import name_relabellings, p_chance
from quirkymad.stats.resample import name_weights, percentile_interval
from quirkymad.stats.rows import resampling_streams
from quirkymad.stats.settings import LEVEL, SCORING, ScoringSettings

log = logging.getLogger(__name__)

GENDERS = ("male", "female")


def record_genders(names: Sequence[str]) -> np.ndarray:
    """`[n]` gender of each record's name (`quirkymad.core.prompts.name_gender`); a name the map
    does not know is "unknown" (excluded from the within-gender AUROCs, like "ambiguous")."""
    out = []
    for n in np.asarray(names).astype(str):
        try:
            out.append(name_gender(n))
        except KeyError:
            out.append("unknown")
    g = np.asarray(out, dtype=object).astype(str)
    if (g == "unknown").any():
        log.warning("names without a gender: %s", sorted(set(np.asarray(names)[g == "unknown"])))
    return g


def _interval(s: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    if w is None:
        return float("nan"), float("nan")
    return percentile_interval(weighted_auroc(s, y, w), LEVEL)


def gender_controls(
    score: np.ndarray,
    is_anomalous: np.ndarray,
    name: np.ndarray,
    n_boot: int = SCORING.n_bootstrap,
    n_perm: int = SCORING.n_permutations,
    seed: int = RUN.seed,
    within: str = SCORING.name_bootstrap,
    speakers: np.ndarray | None = None,
) -> dict[str, Any]:
    """The gender controls of one score `[n]` of the test mix (module docstring). The name
    draws are the AUROC table's (`resampling_streams(seed)`), so the intervals are comparable
    with its `ci_*_name`. `speakers`: the names the prompts show, where `name` holds other
    cluster units (a trigger dataset: one speaker, so gender explains nothing there)."""
    s = np.asarray(score, dtype=np.float64)
    y = np.asarray(is_anomalous, dtype=bool)
    names = np.asarray(name).astype(str)
    gender = record_genders(names if speakers is None else speakers)
    _, rng_name, rng_perm = resampling_streams(seed)
    w = name_weights(y, names, n_boot, rng_name, within) if n_boot else None
    row: dict[str, Any] = {}
    for g in GENDERS:
        m = gender == g
        row[f"auroc_{g}"] = auroc(y[m], s[m]) if m.any() else float("nan")
        lo, hi = _interval(s[m], y[m], None if w is None else w[:, m])
        row[f"ci_low_name_{g}"], row[f"ci_high_name_{g}"] = lo, hi
        for side, mask in (("normal", ~y), ("anomalous", y)):
            row[f"n_names_{g}_{side}"] = int(len(np.unique(names[m & mask])))
    male = (gender == "male").astype(np.float64)
    row["auroc_gender_only"] = auroc(y, male)
    row["ci_low_name_gender_only"], row["ci_high_name_gender_only"] = _interval(male, y, w)
    row["p_chance_gender"] = float("nan")
    if n_perm:
        labels = name_relabellings(y, names, n_perm, rng_perm, strata=gender)
        row["p_chance_gender"] = p_chance(auroc(y, s), relabelled_auroc(s, labels))
    return row


KEY = ["model", "dataset", "seed", "setting", "feature", "transform", "detector"]
# The AUROC table's columns a controls row repeats, and those it takes from the base control.
MAIN_COLUMNS = ["auroc", "ci_low_name", "ci_high_name", "p_chance"]
BASE_COLUMNS = {"auroc": "auroc_base", "ci_low_name": "ci_low_name_base",
                "ci_high_name": "ci_high_name_base", "p_chance": "p_chance_base"}  # fmt: skip


def _aggregate_row(table: pd.DataFrame) -> pd.Series:
    """The layer-aggregated (`layer = all`) row of a scoring job's AUROC table."""
    rows = table[table["layer"].astype(str) == "all"]
    if rows.empty:
        raise ValueError("a scoring job's AUROC table has no `layer = all` row")
    return rows.iloc[0]


def control_row(
    score_dir: str | Path, base_dir: str | Path | None, scoring: ScoringSettings = SCORING
) -> dict[str, Any]:
    """One controls row: the scoring job's aggregated AUROC (with its interval and p_chance),
    the gender controls of its aggregated score, and the base control's AUROC if `base_dir`."""
    main = _aggregate_row(read_parquet(Path(score_dir) / AUROC_FILE))
    scores = read_parquet(Path(score_dir) / SCORES_FILE)
    agg = scores[scores["layer"].astype(str) == "all"]
    seed = int(main["seed"]) if "seed" in main and pd.notna(main["seed"]) else RUN.seed
    row = {k: main[k] for k in KEY if k in main} | {k: main[k] for k in MAIN_COLUMNS}
    # A trigger dataset's `name` holds its cluster units; every prompt shows one speaker.
    speakers = np.full(len(agg), TRIGGER_SPEAKER) if has_cues(agg) else None
    row |= gender_controls(
        agg["score"].to_numpy(), agg["is_anomalous"].to_numpy(), agg["name"].to_numpy(),
        scoring.n_bootstrap, scoring.n_permutations, seed, scoring.name_bootstrap, speakers,
    )  # fmt: skip
    base = _aggregate_row(read_parquet(Path(base_dir) / AUROC_FILE)) if base_dir else None
    row |= {v: (base[k] if base is not None else np.nan) for k, v in BASE_COLUMNS.items()}
    return row


def write_controls(
    jobs: Sequence[Mapping[str, str | None]],
    out_parquet: str | Path,
    out_csv: str | Path,
    scoring: ScoringSettings = SCORING,
) -> pd.DataFrame:
    """`results/tables/controls.{parquet,csv}`: one row per scoring job of `jobs` (each
    {"scores": its directory, "base": its base control's directory or None})."""
    df = pd.DataFrame([control_row(j["scores"], j.get("base"), scoring) for j in jobs])
    return write_table(df, out_parquet, out_csv)
