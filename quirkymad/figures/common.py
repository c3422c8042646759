"""Shared figure plumbing: a headless backend and deterministic atomic PNG + PDF output."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from quirkymad.core.atomic import atomic_path  # noqa: E402


def save_figure(fig, png: str | Path, pdf: str | Path) -> None:
    """Save `fig` as PNG (150 dpi) and PDF, each atomically, without timestamps."""
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata={"CreationDate": None})
    plt.close(fig)


def run_keys(keys: list[str], *tables) -> list[str]:
    """`keys` plus `seed` when every table has it (replicate seeds, issue 18): the columns that
    match rows of one fine-tuned model across tables."""
    return [*keys, "seed"] if all("seed" in t for t in tables) else list(keys)


def ci_errors(value, low, high) -> list:
    """Error-bar lengths [below, above] for an interval; a percentile bootstrap interval need
    not contain the point estimate, so negative lengths are clipped to 0."""
    value, low, high = (np.asarray(v, dtype=float) for v in (value, low, high))
    return [np.clip(value - low, 0, None), np.clip(high - value, 0, None)]
