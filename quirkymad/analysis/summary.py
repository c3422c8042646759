"""The paper's AUROC summary tables ([B1] appendix, cupbearer `create_tables`; spec §8).

(a) per model × setting × score × dataset: AUROC averaged over layers, of the layer-aggregated
score, and at the best layer — each on all / agreeing / disagreeing questions — plus the best
layer itself (the layer, or "all" = the aggregate, that maximises the mean AUROC over datasets
for that model × setting × score);
(b) per model × setting × score: mean over datasets of the aggregated AUROC, for every dataset
set of conflict C10 (capitals and authors are always excluded: never quirky enough [B1]).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quirkymad.atomic import atomic_path

SCORE = ["model", "setting", "feature", "transform", "detector"]
SUBSETS = {"all": "auroc", "agree": "auroc_agree", "disagree": "auroc_disagree"}
EXCLUDED = {"capitals", "authors"}
ARITHMETIC = {"addition", "subtraction", "multiplication", "modularaddition", "squaring"}
DATASET_SETS = {
    "available": None,  # every dataset of the run but capitals/authors
    "b1": {"addition", "subtraction", "multiplication", "modularaddition", "population",
           "hemisphere", "nli", "sentiment", "sciq"},  # [B1]: excl. squaring
    "cupbearer": ARITHMETIC | {"population", "hemisphere", "nli", "sentiment"},  # excl. sciq
}  # fmt: skip


def by_dataset(auroc: pd.DataFrame) -> pd.DataFrame:
    """Table (a). `auroc` is the long AUROC table of the workflow."""
    rows = []
    for key, g in auroc.groupby(SCORE, sort=True):
        mean_by_layer = g.groupby("layer")["auroc"].mean()
        best = str(mean_by_layer.idxmax())
        for dataset, d in g.groupby("dataset", sort=True):
            per_layer = d[d["layer"] != "all"]
            agg = d[d["layer"] == "all"]
            at_best = d[d["layer"] == best]
            row = dict(zip(SCORE, key)) | {"dataset": dataset, "best_layer": best}
            for name, col in SUBSETS.items():
                row[f"mean_over_layers_{name}"] = per_layer[col].mean()
                row[f"aggregated_{name}"] = agg[col].mean()
                row[f"best_layer_{name}"] = at_best[col].mean()
            rows.append(row)
    return pd.DataFrame(rows)


def overall(table_a: pd.DataFrame) -> pd.DataFrame:
    """Table (b) from table (a)."""
    kept = table_a[~table_a["dataset"].isin(EXCLUDED)]
    rows = []
    for key, g in kept.groupby(SCORE, sort=True):
        row = dict(zip(SCORE, key))
        for set_name, members in DATASET_SETS.items():
            sub = g if members is None else g[g["dataset"].isin(members)]
            row[f"n_datasets_{set_name}"] = sub["dataset"].nunique()
            for name in SUBSETS:
                row[f"aggregated_{name}_{set_name}"] = sub[f"aggregated_{name}"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def write_summaries(auroc_parquet: str | Path, out_by_dataset: str | Path, out_overall: str | Path):
    a = by_dataset(pd.read_parquet(auroc_parquet))
    b = overall(a)
    for df, path in ((a, out_by_dataset), (b, out_overall)):
        with atomic_path(path) as tmp:
            df.to_csv(tmp, index=False, float_format="%.4f")
