"""Atomic outputs: write to a temporary sibling, rename when complete.

A killed job therefore never leaves a file or directory at the final path that looks finished.
`os.replace` is atomic for files on POSIX; for directories we rename into a path that does not
exist (removed first), which is atomic for the final rename itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


def _tmp_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success move it onto `path`.

    Works for files and directories alike. On an exception the temporary is removed and
    `path` is left as it was. A directory other than a Zarr store (which describes its own
    files) gets a file list with sizes and hashes (`quirkymad.core.integrity.MANIFEST`), so that a
    file later deleted or cut short inside it is found.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    # Leftovers of killed writers of this path (Snakemake runs one job per output at a time).
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        _remove(stale)
    tmp = _tmp_sibling(final)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if tmp.is_dir() and final.suffix != ".zarr":
        from quirkymad.core.integrity import write_manifest

        write_manifest(tmp)
    if final.is_dir() and not final.is_symlink():
        shutil.rmtree(final)
    os.replace(tmp, final)
