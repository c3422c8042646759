"""Model registry: where each base model's weights come from and how to load them.

A model is prepared once into `results/models/{model}/` (a `model.json` manifest plus, for
models we build ourselves, a `weights/` directory); every later stage loads it from there.
"""

from quirkymad.models.base import (
    MODELS,
    ModelSource,
    check_available,
    load_manifest,
    prepare_model,
    register_model,
)
from quirkymad.models.loading import load_model, load_tokenizer

# Import for their registration side effect.
from quirkymad.models import embedded, hub, tiny  # noqa: E402,F401  isort: skip

__all__ = [
    "MODELS",
    "ModelSource",
    "check_available",
    "load_manifest",
    "load_model",
    "load_tokenizer",
    "prepare_model",
    "register_model",
]
