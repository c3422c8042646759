"""Figures: a registry of plotting functions, tables in, PNG + PDF out.

`FIGURES[name]` = the function drawing figure `name`; what it reads is its entry in the figure
catalogue (`quirkymad.figures.catalogue`). The workflow has one generic rule, `plot_figure`,
which calls `draw(name, {table: path}, png, pdf)`.
"""

from quirkymad.figures.registry import FIGURES, draw, register_figure

# Import for their registration side effect.
from quirkymad.figures import auroc, comparisons, diagnostics, explain, separation, sweeps  # noqa: E402,F401  isort: skip
from quirkymad.figures import controls  # noqa: E402,F401  isort: skip  (issue 28)
from quirkymad.figures import triggers  # noqa: E402,F401  isort: skip  (issue 30)

__all__ = ["FIGURES", "draw", "register_figure"]
