"""Model registry: where each base model's weights come from and how to load them.

A model is prepared once into `results/models/{model}/` (a `model.json` manifest plus, for
models we build ourselves, a `weights/` directory); every later stage loads it from there.
"""

from quirkymad.models.base import (
    MODELS,
    ModelFacts,
    ModelSource,
    check_available,
    load_manifest,
    model_facts,
    model_tokenizer,
    prepare_model,
    register_model,
)

# Import for their registration side effect.
from quirkymad.models import embedded, hub, tiny  # noqa: E402,F401  isort: skip


def __getattr__(name: str):
    # Loading needs torch (seconds to import); config checks and DAG planning (every
    # `snakemake -n`) only need the registry, so torch is imported on first use.
    if name in ("load_model", "load_tokenizer"):
        from quirkymad.models import loading

        return getattr(loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODELS",
    "ModelFacts",
    "ModelSource",
    "check_available",
    "load_manifest",
    "load_model",
    "load_tokenizer",
    "model_facts",
    "model_tokenizer",
    "prepare_model",
    "register_model",
]
