"""Sending a workflow job's output to its Snakemake log file."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def job_log(path: str | Path | None, threads: int | None = None) -> Iterator[None]:
    """Redirect stdout, stderr (tqdm bars) and `logging` to `path` for the job's duration,
    and use exactly `threads` CPU threads."""
    from quirkymad.seeding import set_threads

    set_threads(threads)
    if not path:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        logging.basicConfig(stream=fh, level=logging.INFO, force=True)
        yield
