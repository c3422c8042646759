"""Transform registry: name -> callable `fit(x [n, d], params) -> nn.Module`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TRANSFORMS: dict[str, Callable[..., Any]] = {}


def register_transform(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: make a fitting function available under `name`."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        TRANSFORMS[name] = fn
        return fn

    return deco
