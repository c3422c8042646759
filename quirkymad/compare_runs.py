"""Two results trees, artifact by artifact: did they compute the same thing?

`quirkymad compare-runs A B` (A, B: results directories, or checkouts that hold one) compares
what both runs wrote, exactly (no tolerance): dataset Parquet frames, weights (the prepared
model, adapters, fitted transforms: bytes), every variable of every Zarr store, and every other
Parquet table (each scoring job's per-record scores, diagnostics, analyses, `tables/`). It is
how a refactor shows it changed no number (docs/reliability.md), and how two machines' runs of
one config are checked against each other.

Tables are matched row by row on their text columns (model, dataset, feature, ..., layer), so
row order does not matter. A column only one side has (a later version added it) is listed but
is not a difference; a row or an artifact only one side has is.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.core.errors import QuirkyError
from quirkymad.core.tables import read_table

# (kind, glob under the results root); each kind has its comparison below, and a file goes to
# the first kind whose glob matches it.
ARTIFACTS = (
    ("dataset", "datasets/*/data.parquet"),  # record order is part of a build: compared as is
    ("weights", "**/*.safetensors"),  # the prepared model, adapters, fitted transforms
    ("store", "**/*.zarr"),  # feature and explanation stores
    ("table", "**/*.parquet"),  # per-job scores, diagnostics, analyses, tables/
)


@dataclass(frozen=True)
class Check:
    """One artifact's verdict: `same` (equal where both have it), `detail` says what differs."""

    kind: str
    path: str
    same: bool
    detail: str = ""


def results_root(path: str | Path) -> Path:
    """`path` itself if it is a results directory, else its `results/` (a checkout)."""
    path = Path(path)
    root = path if (path / "tables").is_dir() or (path / "datasets").is_dir() else path / "results"
    if not root.is_dir():
        raise QuirkyError(
            f"{path}: no results directory (expected {path}/results or tables/ in it)"
        )
    return root


def compare_runs(a: str | Path, b: str | Path) -> list[Check]:
    """Every artifact of either tree, compared (`Check` per artifact, in `ARTIFACTS` order)."""
    ra, rb = results_root(a), results_root(b)
    checks, seen = [], set()
    for kind, pattern in ARTIFACTS:
        found_a = {p.relative_to(ra) for p in ra.glob(pattern)} - seen
        found_b = {p.relative_to(rb) for p in rb.glob(pattern)} - seen
        seen |= found_a | found_b
        for rel in sorted(found_a | found_b):
            if rel not in found_b or rel not in found_a:
                side = "A" if rel in found_a else "B"
                checks.append(Check(kind, str(rel), False, f"only in {side}"))
                continue
            same, detail = COMPARE[kind](ra / rel, rb / rel)
            checks.append(Check(kind, str(rel), same, detail))
    return checks


def _same_frames(a: Path, b: Path) -> tuple[bool, str]:
    fa, fb = pd.read_parquet(a), pd.read_parquet(b)
    return (True, "") if fa.equals(fb) else (False, f"{fa.shape} vs {fb.shape}, values differ")


def _same_bytes(a: Path, b: Path) -> tuple[bool, str]:
    ha, hb = (hashlib.sha256(p.read_bytes()).hexdigest() for p in (a, b))
    return (True, "") if ha == hb else (False, "bytes differ")


def _equal_arrays(x: np.ndarray, y: np.ndarray) -> bool:
    if x.shape != y.shape:
        return False
    if x.dtype.kind in "fc" and y.dtype.kind in "fc":
        return bool(np.array_equal(x, y, equal_nan=True))
    # Text, or cells that are lists (Parquet list columns, e.g. explanation tokens).
    return all(
        _equal_cells(u, v) for u, v in zip(x.astype(object).ravel(), y.astype(object).ravel())
    )


def _equal_cells(u, v) -> bool:
    if isinstance(u, (list, tuple, np.ndarray)) or isinstance(v, (list, tuple, np.ndarray)):
        return _equal_arrays(np.asarray(u), np.asarray(v))
    if pd.isna(u) or pd.isna(v):  # None, NaN or pd.NA (nullable columns, e.g. `quirky`)
        return bool(pd.isna(u) and pd.isna(v))
    return bool(u == v)


def _is_key(column: pd.Series) -> bool:
    """A text column (not numbers, not list cells): rows are matched on these."""
    if pd.api.types.is_numeric_dtype(column):
        return False
    return not column.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any()


def _same_store(a: Path, b: Path) -> tuple[bool, str]:
    import xarray as xr

    da, db = xr.open_zarr(a), xr.open_zarr(b)
    names = sorted(set(da.variables) | set(db.variables))
    only = [n for n in names if n not in da.variables or n not in db.variables]
    differ = [n for n in names if n not in only and not _equal_arrays(da[n].values, db[n].values)]
    detail = "; ".join(s for s in (f"differ: {', '.join(differ)}" if differ else "",
                                   f"only one side: {', '.join(only)}" if only else "") if s)  # fmt: skip
    return not differ and not only, detail


def _same_table(a: Path, b: Path) -> tuple[bool, str]:
    """Rows matched on the text columns both tables have; the other common columns compared.
    AUROC tables read as `read_table` reads them (a `combination` column written before it
    existed is filled in), so an older run's rows meet their counterparts."""
    ta, tb = read_table(a), read_table(b)
    common = [c for c in ta.columns if c in tb.columns]
    keys = [c for c in common if _is_key(ta[c]) and _is_key(tb[c])]
    notes = [f"columns only in {s}: {', '.join(cs)}" for s, cs in
             (("A", [c for c in ta if c not in tb]), ("B", [c for c in tb if c not in ta])) if cs]  # fmt: skip
    compared = [c for c in common if c not in keys]
    if not keys or ta.duplicated(keys).any() or tb.duplicated(keys).any():
        # No unique key: rows sorted and compared in that order, every column (keys too).
        compared = common
        order = [c for c in common if c in keys or pd.api.types.is_numeric_dtype(ta[c])]
        ta, tb = (t[common].sort_values(order, ignore_index=True) for t in (ta, tb))
        if len(ta) != len(tb):
            return False, "; ".join([f"{len(ta)} vs {len(tb)} rows", *notes])
        m = pd.concat([ta.add_suffix("_a"), tb.add_suffix("_b")], axis=1).assign(_merge="both")
    else:
        m = ta[common].merge(tb[common], on=keys, how="outer", suffixes=("_a", "_b"),
                             indicator=True)  # fmt: skip
    unmatched = {s: int((m["_merge"] == f"{s}_only").sum()) for s in ("left", "right")}
    both = m[m["_merge"] == "both"]
    differ = [c for c in compared
              if not _equal_arrays(both[f"{c}_a"].to_numpy(), both[f"{c}_b"].to_numpy())]  # fmt: skip
    if differ:
        notes.insert(0, f"values differ: {', '.join(differ)}")
    for side, label in (("left", "A"), ("right", "B")):
        if unmatched[side]:
            notes.insert(0, f"{unmatched[side]} rows only in {label}")
    return not differ and not any(unmatched.values()), "; ".join(notes)


COMPARE = {
    "dataset": _same_frames,
    "weights": _same_bytes,
    "store": _same_store,
    "table": _same_table,
}


def report(checks: list[Check], out=None) -> int:
    """Print one line per artifact that differs, the notes on identical ones grouped, and a
    count of the identical ones; 0 if none differs, 1 otherwise."""
    out = out or sys.stdout
    differ = [c for c in checks if not c.same]
    for c in differ:
        print(f"DIFFERS {c.kind:8} {c.path}  {c.detail}", file=out)
    notes = pd.Series([c.detail for c in checks if c.same and c.detail]).value_counts()
    for detail, n in notes.items():  # e.g. a column a later version added, on every table
        print(f"note: {n} identical artifacts have {detail}", file=out)
    by_kind = pd.Series([c.kind for c in checks if c.same]).value_counts().to_dict()
    print(f"{len(checks) - len(differ)} of {len(checks)} artifacts identical {by_kind}", file=out)
    return 1 if differ else 0
