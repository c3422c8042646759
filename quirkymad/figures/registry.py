"""The figure registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from quirkymad.errors import QuirkyError
from quirkymad.tables import read_table


@dataclass(frozen=True)
class Figure:
    name: str
    draw: Callable[..., None]
    tables: tuple[str, ...]
    """Names of the tables it reads (keyword arguments of `draw`)."""
    title: str


FIGURES: dict[str, Figure] = {}


def register_figure(name: str, tables: tuple[str, ...], title: str):
    """Decorator: register `fn(**tables, png=..., pdf=...)` as figure `name`."""

    def wrap(fn):
        FIGURES[name] = Figure(name, fn, tables, title)
        return fn

    return wrap


def _read(paths: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    if isinstance(paths, str | Path):
        return read_table(paths)
    return pd.concat([read_table(p) for p in paths], ignore_index=True)


def draw(
    name: str,
    inputs: Mapping[str, str | Path | Sequence[str | Path]],
    png: str | Path,
    pdf: str | Path,
) -> None:
    """Read the figure's tables from `inputs` (name → Parquet path, or a list of Parquet
    paths to concatenate; a scoring job's directory stands for its auroc.parquet) and draw
    it."""
    if name not in FIGURES:
        raise QuirkyError(f"unknown figure {name!r}; known: {', '.join(sorted(FIGURES))}")
    fig = FIGURES[name]
    missing = set(fig.tables) - set(inputs)
    if missing:
        raise QuirkyError(f"figure {name}: missing input tables {sorted(missing)}")
    tables = {k: _read(inputs[k]) for k in fig.tables}
    fig.draw(**tables, png=png, pdf=pdf)
