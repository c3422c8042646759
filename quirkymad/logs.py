"""Sending a workflow job's output to its Snakemake log file."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from quirkymad.errors import QuirkyError


def check_device(device: str) -> None:
    """Raise QuirkyError (one line naming `device`) if the config asks for CUDA on a machine
    without it. Done in the job, not at plan time: a cluster's login node has no GPU."""
    if not str(device).startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        build = "a CUDA build" if torch.backends.cuda.is_built() else "a CPU-only build"
        raise QuirkyError(
            f"device: {device}, but CUDA is not available on this machine (torch"
            f" {torch.__version__}, {build}); run on a GPU node or set device: auto or cpu"
        )


@contextlib.contextmanager
def job_log(
    path: str | Path | None, threads: int | None = None, device: str | None = None
) -> Iterator[None]:
    """Redirect stdout, stderr (tqdm bars) and `logging` to `path` for the job's duration,
    and use exactly `threads` CPU threads. With `device`, first check that it exists
    (`check_device`). A QuirkyError ends the job with one line `quirkymad: ...` on stderr (and
    its traceback in the log) instead of a traceback."""
    from quirkymad.seeding import set_threads

    set_threads(threads)
    if not path:
        with _one_line_errors(None):
            if device is not None:
                check_device(device)
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
        if device is not None:
            check_device(device)
        yield


@contextlib.contextmanager
def _one_line_errors(log) -> Iterator[None]:
    try:
        yield
    except QuirkyError as exc:
        if log is not None:
            traceback.print_exc(file=log)
            print(f"quirkymad: {exc}", file=log, flush=True)
        print(f"quirkymad: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
