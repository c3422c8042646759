"""Quirky datasets: a registry of dataset classes and the generic build around them."""

from quirkymad.datasets.base import (
    COLUMNS,
    DATASETS,
    BuildSettings,
    QuirkyDataset,
    build_dataset,
    dataset_card,
    dataset_names,
    get_dataset,
    register_dataset,
)
from quirkymad.datasets.build import write_dataset

# Import for their registration side effect.
from quirkymad.datasets import (  # noqa: E402,F401  isort: skip
    arithmetic,
    authors,
    cities,
    nli,
    sciq,
    sentiment,
)

__all__ = [
    "COLUMNS",
    "DATASETS",
    "BuildSettings",
    "QuirkyDataset",
    "build_dataset",
    "dataset_card",
    "dataset_names",
    "get_dataset",
    "register_dataset",
    "write_dataset",
]
