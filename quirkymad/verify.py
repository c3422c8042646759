"""`quirkymad verify [results/]`: every artifact of a results tree checked in full.

Artifacts are what the rules write (quirkymad/core/layout.py): Zarr stores (every chunk decoded, its
crc32c checked), Parquet tables (every page read, its checksum checked), directories with a
file list (a prepared model, an adapter, a fitted transform, a scoring job: every listed file
present, of its size and sha256) and every safetensors file (header against file size). One
line per damaged artifact, the same line a job reading it would end with; exit 1 if any.

An artifact written before these checks existed has nothing to be checked against: a store
without checksums gets its structure checked (chunk files present and of their size, every
chunk decodable), a directory without a file list its files one by one. They are counted in
a note, not as damaged.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import MANIFEST, DamagedArtifact, verify_artifact


@dataclass(frozen=True)
class Verdict:
    """One artifact: `damaged` (the DamagedArtifact) or a `note` (unverifiable parts)."""

    path: Path
    damaged: DamagedArtifact | None = None
    note: str | None = None


def artifacts(root: Path) -> list[Path]:
    """The artifacts of a results tree: stores, directories with a file list, and the
    Parquet and safetensors files in neither (benchmarks/ holds timing files only)."""
    stores = sorted(p for p in root.rglob("*.zarr") if p.is_dir())
    listed = sorted(p.parent for p in root.rglob(MANIFEST))
    units = [*stores, *listed]
    loose = [
        p
        for pattern in ("*.parquet", "*.safetensors")
        for p in sorted(root.rglob(pattern))
        if p.is_file() and not any(u in p.parents for u in units)
    ]
    return [*units, *loose]


def results_root(path: str | Path) -> Path:
    """`path/results` if there is one (a checkout), else `path` itself."""
    path = Path(path)
    root = path / "results" if (path / "results").is_dir() else path
    if not root.is_dir():
        raise QuirkyError(f"{path}: no such results directory")
    return root


def verify_tree(path: str | Path) -> list[Verdict]:
    """A `Verdict` per artifact of the results tree at `path` (or its `results/`)."""
    verdicts = []
    for p in artifacts(results_root(path)):
        try:
            verdicts.append(Verdict(p, note=verify_artifact(p, deep=True)))
        except DamagedArtifact as exc:
            verdicts.append(Verdict(p, damaged=exc))
    return verdicts


def run(path: str | Path, out=None) -> int:
    """Print one line per damaged artifact, notes grouped, and a summary; 1 if any damaged."""
    out = out or sys.stdout
    start = time.perf_counter()
    verdicts = verify_tree(path)
    damaged = [v for v in verdicts if v.damaged is not None]
    for v in damaged:
        print(f"quirkymad: {v.damaged}", file=out)
    notes = Counter(v.note for v in verdicts if v.note)
    for note, n in notes.items():
        print(f"note: {n} artifacts have {note}", file=out)
    seconds = time.perf_counter() - start
    print(f"{len(verdicts) - len(damaged)} of {len(verdicts)} artifacts intact, "
          f"{len(damaged)} damaged ({seconds:.1f} s)", file=out)  # fmt: skip
    return 1 if damaged else 0
