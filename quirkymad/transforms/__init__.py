"""Learned transforms of features (spec §5: normalising flow, top-k SAE); one registry."""

from quirkymad.transforms.base import TRANSFORMS, TransformKind, register_transform

from quirkymad.transforms import flow, sae  # noqa: E402,F401  isort: skip

__all__ = ["TRANSFORMS", "TransformKind", "register_transform"]
