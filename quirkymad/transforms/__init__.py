"""Learned transforms of features (spec §5: normalising flow, top-k SAE); one registry.

Each kind's module is imported when the registry first hands it out (`TRANSFORMS[name]`).
"""

from quirkymad.transforms.base import TRANSFORMS, TransformKind, register_transform

__all__ = ["TRANSFORMS", "TransformKind", "register_transform"]
