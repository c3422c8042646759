"""Our AUROCs beside [B1]'s published ones (issue 19; docs/reference_comparison.md).

The reference rows live in one data file, `config/reference_b1.csv` (source cited there): each
names a score as (features, score, combination, setting), a dataset (or `mean` = B1's mean over
its 9 datasets) and a question subset (all / agree / disagree). For each we look up the same
score in the workflow's long AUROC table (transform `none`), per model of the run:

- a per-dataset row: the aggregated (`layer = all`) AUROC of that dataset, with the AUROC
  table's name-clustered 95 % interval (`ci_low_name`, `ci_high_name`) on the `all` subset;
- a `mean` row: once per dataset set of conflict C10 (`b1`: B1's nine; `cupbearer`: squaring in,
  sciq out), the mean over the run's datasets in that set, and how many of them there were.

The combination is matched on the AUROC table's `combination` column (`mean`: a plain job's
`layer = all` row; `concat`, and `mean` rows of merged features / ensembled detectors, from the
combination jobs of quirkymad/scoring/combinations.py). `status`: `ok`; `not run` (this run has no such
score or no dataset of the set, e.g. a combination not under `combinations:`);
`not implemented` (a combination name the workflow does not know). Several rows for one score
and dataset (seeds as replicates) are averaged, and then carry no interval.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.analysis.summary import DATASET_SETS, EXCLUDED, SUBSETS
from quirkymad.core.atomic import atomic_path
from quirkymad.core.integrity import read_parquet
from quirkymad.core.tables import with_combination

REFERENCE_COLUMNS = ["b1_name", "features", "score", "combination", "setting", "dataset",
                     "subset", "reference_auroc"]  # fmt: skip
# Combinations the AUROC table can hold (its `combination` column; all on `layer = all` rows).
IMPLEMENTED_COMBINATIONS = ("mean", "concat")
C10_SETS = ("b1", "cupbearer")
REFERENCE_MODEL = "Mistral-7B-v0.1 (B1)"
COLUMNS = [*REFERENCE_COLUMNS[:6], "dataset_set", "subset", "reference_model",
           "reference_auroc", "model", "our_auroc", "our_ci_low", "our_ci_high",
           "our_n_datasets", "difference", "status"]  # fmt: skip


def read_reference(path: str | Path) -> pd.DataFrame:
    """The reference data file (`#` lines are its citation); ValueError on missing columns."""
    ref = pd.read_csv(path, comment="#", dtype={"reference_auroc": float})
    missing = set(REFERENCE_COLUMNS) - set(ref.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    bad = set(ref["subset"]) - set(SUBSETS)
    if bad:
        raise ValueError(f"{path}: unknown subset(s) {sorted(bad)}; known: {sorted(SUBSETS)}")
    return ref[REFERENCE_COLUMNS]


def _ours(g: pd.DataFrame, column: str) -> tuple[float, float, float]:
    """(AUROC, interval low, high) of one dataset's rows `g`: the name-clustered interval
    (docs/statistics.md); no interval over replicates."""
    if len(g) == 1 and column == "auroc":
        row = g.iloc[0]
        return float(row["auroc"]), float(row["ci_low_name"]), float(row["ci_high_name"])
    return float(g[column].mean()), np.nan, np.nan


def compare(auroc: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The comparison table (module docstring) from the long AUROC table and the reference."""
    auroc = with_combination(auroc.copy())
    models = sorted(auroc["model"].unique()) if len(auroc) else []
    rows = []
    for ref in reference.to_dict("records"):
        known = ref["combination"] in IMPLEMENTED_COMBINATIONS
        column = SUBSETS[ref["subset"]]
        sets = C10_SETS if ref["dataset"] == "mean" else ("",)
        for set_name in sets:
            base = {**ref, "dataset_set": set_name, "reference_model": REFERENCE_MODEL}
            if not known:
                rows.append({**base, "status": "not implemented"})
                continue
            found = False
            for model in models:
                sel = auroc[
                    (auroc["model"] == model)
                    & (auroc["feature"] == ref["features"])
                    & (auroc["detector"] == ref["score"])
                    & (auroc["setting"] == ref["setting"])
                    & (auroc["transform"] == "none")
                    & (auroc["layer"].astype(str) == "all")
                    & (auroc["combination"] == ref["combination"])
                ]
                if set_name:
                    members = DATASET_SETS[set_name]
                    sel = sel[sel["dataset"].isin(members) & ~sel["dataset"].isin(EXCLUDED)]
                else:
                    sel = sel[sel["dataset"] == ref["dataset"]]
                if sel.empty:
                    continue
                found = True
                per_dataset = {d: _ours(g, column) for d, g in sel.groupby("dataset")}
                if set_name:
                    value, lo, hi = np.mean([v[0] for v in per_dataset.values()]), np.nan, np.nan
                else:
                    value, lo, hi = per_dataset[ref["dataset"]]
                rows.append(
                    {**base, "model": model, "our_auroc": value, "our_ci_low": lo,
                     "our_ci_high": hi, "our_n_datasets": len(per_dataset),
                     "difference": value - ref["reference_auroc"], "status": "ok"}
                )  # fmt: skip
            if not found:
                rows.append({**base, "status": "not run"})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["our_n_datasets"] = table["our_n_datasets"].astype("Int64")
    return table


def write_reference_comparison(
    auroc_parquet: str | Path, reference_csv: str | Path, out_csv: str | Path
) -> pd.DataFrame:
    """`compare` the workflow's AUROC table with the reference file; CSV written atomically."""
    table = compare(read_parquet(auroc_parquet), read_reference(reference_csv))
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    return table
