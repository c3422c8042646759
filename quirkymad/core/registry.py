"""A registry whose entries are imported on first use, so a job loads only the code it runs
(a Mahalanobis scoring job never imports the flow's zuko, nor sklearn's ensembles)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class LazyRegistry(Mapping[str, T], Generic[T]):
    """Name → entry. `modules` maps each built-in name to the module that registers it (by
    calling `register` at import time); looking a name up imports that module once. Listing
    names (`in`, iteration, `len`) imports nothing; `.items()`/`.values()` import everything."""

    def __init__(self, modules: Mapping[str, str]):
        self._modules = dict(modules)
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        self._entries[name] = entry
        return entry

    def __getitem__(self, name: str) -> T:
        if name not in self._entries and name in self._modules:
            importlib.import_module(self._modules[name])
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._modules or name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._modules, *self._entries]))

    def __len__(self) -> int:
        return len(set(self._modules) | set(self._entries))
