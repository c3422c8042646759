"""Writing a built dataset: Parquet + a JSON card, each atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from quirkymad.core.atomic import atomic_path
from quirkymad.core.integrity import PARQUET_WRITE
from quirkymad.datasets.base import BuildSettings, build_dataset, dataset_card


def write_parquet(df, path: str | Path) -> None:
    """Deterministic Parquet: no pandas index, no timestamps in metadata, fixed compression,
    page checksums (quirkymad/core/integrity.py)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False, **PARQUET_WRITE)


def write_dataset(
    name: str,
    settings: dict[str, Any],
    build: BuildSettings,
    out_parquet: str | Path,
    out_card: str | Path,
) -> None:
    """Build dataset `name` and write its records and card."""
    df = build_dataset(name, settings, build)
    card = dataset_card(name, df, settings, build)
    write_parquet(df, out_parquet)
    with atomic_path(out_card) as tmp:
        tmp.write_text(json.dumps(card, indent=2, sort_keys=True, default=str) + "\n")
