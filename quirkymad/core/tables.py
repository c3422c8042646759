"""Collecting per-job tables into one long table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from quirkymad.core.atomic import atomic_path
from quirkymad.core.integrity import read_parquet, write_parquet

# The two tables of one scoring job, in its output directory
# (results/{model}/{dataset}/scores/{feature}/{transform}/{detector}/).
SCORES_FILE = "scores.parquet"
AUROC_FILE = "auroc.parquet"


def read_table(path: str | Path) -> pd.DataFrame:
    """A Parquet table; a scoring job's directory reads as its AUROC table."""
    p = Path(path)
    return with_combination(read_parquet(p / AUROC_FILE if p.is_dir() else p))


def with_combination(df: pd.DataFrame) -> pd.DataFrame:
    """An AUROC table with its `combination` column (quirkymad/scoring/combinations.py): rows written
    before it existed (no column, or missing values after a concatenation) get "none" on layer
    rows and "mean" on the `all` row, what a plain scoring job writes now."""
    if not {"layer", "auroc"} <= set(df.columns):
        return df
    default = df["layer"].astype(str).eq("all").map({True: "mean", False: "none"})
    if "combination" not in df:
        df.insert(df.columns.get_loc("layer"), "combination", default)
    elif df["combination"].isna().any():
        df["combination"] = df["combination"].fillna(default)
    return df


def concat_tables(
    paths: Sequence[str | Path], out_parquet: str | Path, out_csv: str | Path | None = None
):
    """Concatenate Parquet tables (or scoring jobs' AUROC tables, see `read_table`) and write
    them as Parquet (and CSV, if `out_csv`)."""
    return write_table(pd.concat([read_table(p) for p in paths], ignore_index=True),
                       out_parquet, out_csv)  # fmt: skip


def write_table(
    df: pd.DataFrame, out_parquet: str | Path, out_csv: str | Path | None = None
) -> pd.DataFrame:
    """Write a collected table atomically: Parquet with page checksums (and CSV, if `out_csv`)."""
    with atomic_path(out_parquet) as tmp:
        write_parquet(df, tmp)
    if out_csv is not None:
        with atomic_path(out_csv) as tmp:
            df.to_csv(tmp, index=False, float_format="%.6g")
    return df
