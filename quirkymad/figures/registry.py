"""The figure registry: figure name → plotting function.

What a figure reads, and how the report shows it, is declared in the figure catalogue
(`quirkymad.figures.catalogue`); this registry only holds the functions that draw them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from quirkymad.core.errors import QuirkyError
from quirkymad.core.tables import read_table
from quirkymad.figures.catalogue import FIGURE_CATALOGUE, FigureSpec


@dataclass(frozen=True)
class Figure:
    name: str
    draw: Callable[..., None]
    """`draw(**tables, png=..., pdf=...)`, one DataFrame per table of the catalogue entry."""

    @property
    def spec(self) -> FigureSpec:
        return FIGURE_CATALOGUE[self.name]

    @property
    def tables(self) -> tuple[str, ...]:
        """Names of the tables it reads (keyword arguments of `draw`), from the catalogue."""
        return tuple(self.spec.tables)


FIGURES: dict[str, Figure] = {}


def register_figure(name: str):
    """Decorator: register `fn(**tables, png=..., pdf=...)` as figure `name`, whose tables are
    its entry in the figure catalogue."""

    def wrap(fn):
        FIGURES[name] = Figure(name, fn)
        return fn

    return wrap


def function_tables(fn: Callable[..., None]) -> tuple[str, ...]:
    """The table keyword arguments of a plotting function (all but `png` and `pdf`)."""
    return tuple(p for p in inspect.signature(fn).parameters if p not in ("png", "pdf"))


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
    if name not in FIGURES or name not in FIGURE_CATALOGUE:
        known = sorted(set(FIGURES) & set(FIGURE_CATALOGUE))
        raise QuirkyError(f"unknown figure {name!r}; known: {', '.join(known)}")
    fig = FIGURES[name]
    missing = set(fig.tables) - set(inputs)
    if missing:
        raise QuirkyError(f"figure {name}: missing input tables {sorted(missing)}")
    tables = {k: _read(inputs[k]) for k in fig.tables}
    fig.draw(**tables, png=png, pdf=pdf)
