"""Sending a workflow job's output to its Snakemake log file."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import diagnose


@contextlib.contextmanager
def job_log(path: str | Path | None, threads: int | None = None) -> Iterator[None]:
    """Redirect stdout, stderr (tqdm bars) and `logging` to `path` for the job's duration,
    and use exactly `threads` CPU threads. A QuirkyError (bad input the user can fix, e.g.
    `device: cuda` on a machine without CUDA) ends the job with one line `quirkymad: ...` on
    stderr, its traceback going to the log only. So does any other exception raised while an
    artifact the job read is damaged: the line then names that artifact and the command that
    rebuilds it (quirkymad/core/integrity.py `diagnose`)."""
    from quirkymad.core.seeding import set_threads

    set_threads(threads)
    if not path:
        with _one_line_errors(None):
            yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Left to right: the one-line error is printed after stdout/stderr are restored.
    with (
        open(path, "w") as fh,
        _one_line_errors(fh),
        contextlib.redirect_stdout(fh),
        contextlib.redirect_stderr(fh),
    ):
        logging.basicConfig(stream=fh, level=logging.INFO, force=True)
        yield


@contextlib.contextmanager
def _one_line_errors(log) -> Iterator[None]:
    try:
        yield
    except Exception as raised:
        # A failure inside zarr, pyarrow or transformers may come from a damaged input: name it.
        exc = raised if isinstance(raised, QuirkyError) else diagnose()
        if exc is None:
            raise
        if log is not None:
            traceback.print_exc(file=log)
            print(f"quirkymad: {exc}", file=log, flush=True)
        print(f"quirkymad: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
