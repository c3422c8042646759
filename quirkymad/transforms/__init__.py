"""Learned transforms of features (spec: normalising flow, top-k SAE); one registry."""

from quirkymad.transforms.base import TRANSFORMS, register_transform

from quirkymad.transforms import flow, sae  # noqa: E402,F401  isort: skip

__all__ = ["TRANSFORMS", "register_transform"]
