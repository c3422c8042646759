"""Collecting per-job tables into one long table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from quirkymad.atomic import atomic_path


def concat_tables(
    paths: Sequence[str | Path], out_parquet: str | Path, out_csv: str | Path | None = None
):
    """Concatenate Parquet tables and write them as Parquet (and CSV, if `out_csv`)."""
    df = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    with atomic_path(out_parquet) as tmp:
        df.to_parquet(tmp, index=False)
    if out_csv is None:
        return df
    with atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return df
