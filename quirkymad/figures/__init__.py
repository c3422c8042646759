"""Figures: a registry of plotting functions, tables in, PNG + PDF out.

`FIGURES[name]` = (function, input table names). The workflow has one rule per figure; all
call `draw(name, {table: path}, png, pdf)`.
"""

from quirkymad.figures.registry import FIGURES, draw, register_figure

# Import for their registration side effect.
from quirkymad.figures import auroc, comparisons, diagnostics, separation  # noqa: E402,F401  isort: skip

__all__ = ["FIGURES", "draw", "register_figure"]
