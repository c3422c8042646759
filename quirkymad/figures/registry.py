"""The figure registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from quirkymad.errors import QuirkyError


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


def draw(name: str, inputs: Mapping[str, str | Path], png: str | Path, pdf: str | Path) -> None:
    """Read the figure's tables from `inputs` (name → Parquet path) and draw it."""
    if name not in FIGURES:
        raise QuirkyError(f"unknown figure {name!r}; known: {', '.join(sorted(FIGURES))}")
    fig = FIGURES[name]
    missing = set(fig.tables) - set(inputs)
    if missing:
        raise QuirkyError(f"figure {name}: missing input tables {sorted(missing)}")
    tables = {k: pd.read_parquet(inputs[k]) for k in fig.tables}
    fig.draw(**tables, png=png, pdf=pdf)
