"""Config validation with one-line errors that name the offending key.

The Snakefile calls `check_config` before building the DAG: the JSON Schema in
`config/schema.yaml` (types, ranges, unknown keys, registry names), then checks that need the
registries (a model can be provided offline, explicit layers fit the model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from quirkymad.errors import QuirkyError

SCHEMA = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"

# Detectors that also see unlabelled untrusted data; known at DAG-building time without
# importing the detector classes (tests/test_config.py checks it against the registry).
OFFLINE_DETECTORS = frozenset({"que"})

# Depth of each registered model, for checking explicit layer lists before any job runs.
# Figures that plot one feature's scores: enabling one needs that feature.
FIGURE_FEATURES = {"attribution_auroc_vs_quirkiness": "attribution"}
MODEL_DEPTH = {"smollm2-135m": 30, "mistral-7b": 32, "llama-3.1-8b": 32}


def load_schema(path: str | Path = SCHEMA) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        where = _key_path(error)
        keys = ", ".join(f"{where}.{k}" if where != "<top level>" else k for k in extra)
        return f"unknown key {keys} (allowed here: {allowed})"
    if error.validator == "oneOf" and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return f"{_key_path(error)}: {best.message}"
    return f"{_key_path(error)}: {error.message}"


def schema_errors(config: dict[str, Any], schema: dict[str, Any] | None = None) -> list[str]:
    """All schema violations of `config`, one line each, sorted by key path."""
    validator = jsonschema.Draft202012Validator(schema or load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    return [_message(e) for e in errors]


def model_depth(name: str, settings: dict[str, Any] | None) -> int:
    if name == "tiny-random":
        return int((settings or {}).get("n_layers", 2))
    return MODEL_DEPTH[name]


def check_config(config: dict[str, Any], source: str = "config", check_models: bool = True):
    """Raise QuirkyError with one line naming the first bad key of `config`."""
    errors = schema_errors(config)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise QuirkyError(f"{source}: {errors[0]}{more}")
    for figure, feature in FIGURE_FEATURES.items():
        if figure in (config.get("figures") or {}) and feature not in config.get("features", {}):
            raise QuirkyError(f"{source}: figures.{figure}: needs features.{feature} enabled")
    layer_keys = {"layers": config.get("layers", "all")}
    for feature, fsettings in (config.get("features") or {}).items():
        if "layers" in (fsettings or {}):
            layer_keys[f"features.{feature}.layers"] = fsettings["layers"]
    for name, settings in config["models"].items():
        for key, layers in layer_keys.items():
            if not isinstance(layers, list):
                continue
            depth = model_depth(name, settings)
            bad = [x for x in layers if x > depth]
            if bad:
                raise QuirkyError(
                    f"{source}: {key}: {bad} out of range 1..{depth} for model {name}"
                )
        if check_models:
            from quirkymad.models import check_available

            try:
                check_available(name, settings)
            except QuirkyError as exc:
                raise QuirkyError(f"{source}: models.{name}: {exc}") from None
    # Raw data of every enabled dataset must be in the install-time cache (before any job).
    from quirkymad.datasets import get_dataset

    for name, settings in config["datasets"].items():
        try:
            get_dataset(name, settings).check_sources()
        except QuirkyError as exc:
            raise QuirkyError(f"{source}: datasets.{name}: {exc}") from None
