"""The paper's AUROC summary tables ([B1] appendix, cupbearer `create_tables`; spec §8).

Rows are named as the source names scores: features, score (detector) and combination
(`mean` = the mean of per-layer scores; `concat`; merged features and ensembled detectors carry
`+`-joined names; quirkymad/scoring/combinations.py).

(a) per model × setting × score × dataset: AUROC averaged over layers, of the layer-aggregated
score, and at the best layer — each on all / agreeing / disagreeing questions — plus the best
layer itself (the layer, or "all" = the aggregate, that maximises the mean AUROC over datasets
for that model × setting × score), twice: `optimistic` (chosen on the test mix, as cupbearer
does) and `selected` (chosen on a disjoint selection split; issue 18);
(b) per model × setting × score: mean over datasets of the aggregated AUROC, for every dataset
set of conflict C10 (capitals and authors are always excluded: never quirky enough [B1]).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from quirkymad.core.atomic import atomic_path
from quirkymad.core.integrity import read_parquet
from quirkymad.core.tables import with_combination

SCORE = ["model", "setting", "feature", "transform", "detector", "combination"]
SUBSETS = {"all": "auroc", "agree": "auroc_agree", "disagree": "auroc_disagree"}
EXCLUDED = {"capitals", "authors"}
ARITHMETIC = {"addition", "subtraction", "multiplication", "modularaddition", "squaring"}
DATASET_SETS = {
    "available": None,  # every dataset of the run but capitals/authors
    "b1": {"addition", "subtraction", "multiplication", "modularaddition", "population",
           "hemisphere", "nli", "sentiment", "sciq"},  # [B1]: excl. squaring
    "cupbearer": ARITHMETIC | {"population", "hemisphere", "nli", "sentiment"},  # excl. sciq
}  # fmt: skip


def _best(mean_by_layer: pd.Series) -> str | None:
    """The layer (or "all") with the highest mean AUROC; None if no value is finite."""
    finite = mean_by_layer.dropna()
    return str(finite.idxmax()) if len(finite) else None


def _named(auroc: pd.DataFrame) -> pd.DataFrame:
    """`auroc` with each row's `combination` set to that of its job's aggregate, so that a row
    of the summaries is named as the source names scores: (features, score, combination), e.g.
    attribution / lof / mean, probe_shift / que / concat (quirkymad/scoring/combinations.py). A plain
    job's single-layer rows (`none`) belong to its `mean`; a concat job has its one row."""
    auroc = with_combination(auroc.copy())
    auroc["combination"] = auroc["combination"].replace("none", "mean")
    return auroc


def by_dataset(auroc: pd.DataFrame) -> pd.DataFrame:
    """Table (a). `auroc` is the long AUROC table of the workflow.

    Two best layers: `best_layer_optimistic` maximises the mean test AUROC over datasets (as in
    cupbearer: chosen on the test mix it reports on, so biased upwards); `best_layer_selected`
    maximises the mean `auroc_select` (hard validation records with held-out names, disjoint
    from the test mix; quirkymad/datasets/selection.py) and reports its test AUROC.
    """
    auroc = _named(auroc)
    rows = []
    for key, g in auroc.groupby(SCORE, sort=True):
        best = {"optimistic": _best(g.groupby("layer")["auroc"].mean())}
        if "auroc_select" in g:
            best["selected"] = _best(g.groupby("layer")["auroc_select"].mean())
        else:
            best["selected"] = None
        for dataset, d in g.groupby("dataset", sort=True):
            per_layer = d[d["layer"] != "all"]
            agg = d[d["layer"] == "all"]
            row = dict(zip(SCORE, key)) | {"dataset": dataset}
            for kind, layer in best.items():
                row[f"best_layer_{kind}"] = layer
            for name, col in SUBSETS.items():
                row[f"mean_over_layers_{name}"] = per_layer[col].mean()
                row[f"aggregated_{name}"] = agg[col].mean()
                for kind, layer in best.items():
                    at_best = d[d["layer"] == layer]
                    row[f"best_layer_{kind}_{name}"] = (
                        at_best[col].mean() if layer else float("nan")
                    )
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
    a = by_dataset(read_parquet(auroc_parquet))
    b = overall(a)
    for df, path in ((a, out_by_dataset), (b, out_overall)):
        with atomic_path(path) as tmp:
            df.to_csv(tmp, index=False, float_format="%.4f")
