"""Config validation with one-line errors that name the offending key.

The Snakefile calls `check_config` before building the DAG: the JSON Schema in
`config/schema.yaml` (types, ranges, unknown keys, registry names), then checks that need the
registries (a model can be provided offline, explicit layers fit the model).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from quirkymad.core.errors import QuirkyError
from quirkymad.core.layers import NO_LORA, resolve_layers, transform_layers
from quirkymad.detectors.params import OFFLINE_DETECTORS, TRANSFORM_ONLY_DETECTORS
from quirkymad.workflow.checks import check_raw_scored

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"

# Keys of a `transforms.<name>` entry that are not the transform's Params fields.
TRANSFORM_WIRING_KEYS = ("layers", "detectors", "train_on")


def load_schema(path: str | Path = SCHEMA) -> dict[str, Any]:
    """The parsed schema (a fresh copy: callers may change it)."""
    return copy.deepcopy(_parsed_schema(str(path)))


@functools.cache
def _parsed_schema(path: str) -> dict[str, Any]:
    # libyaml when present: every Snakemake invocation (a no-op dry run too) parses the schema.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    schema = yaml.load(Path(path).read_text(), Loader=loader)
    _fill_dataclass_defaults(schema)
    return schema


def settings_contracts() -> dict[tuple[str, ...], type]:
    """Config sections (as key paths) whose defaults are written once, in their stage's
    settings dataclass (all torch-free modules): the schema's `default`s for them are filled
    in from it on load. A field the schema does not list at that path (a run-wide key such as
    `seed`, or the resolved `layers`) is not a config key there and is skipped."""
    from quirkymad.core.run_settings import RunSettings
    from quirkymad.datasets.base import BuildSettings, DatasetSettings
    from quirkymad.detectors.params import PARAMS as DETECTOR_PARAMS
    from quirkymad.diagnostics.settings import DiagnosticsSettings
    from quirkymad.explain.settings import ExplainSettings
    from quirkymad.features.settings import (
        ATTRIBUTION_FEATURES,
        AttributionSettings,
        ExtractSettings,
    )
    from quirkymad.finetune.settings import FinetuneSettings
    from quirkymad.stats.settings import ControlsSettings, ScoringSettings
    from quirkymad.transforms.params import PARAMS as TRANSFORM_PARAMS

    return {
        (): RunSettings,  # the top level: seed, device, layers
        ("data",): BuildSettings,
        ("$defs", "dataset"): DatasetSettings,
        ("finetune",): FinetuneSettings,
        ("extract",): ExtractSettings,
        ("diagnostics",): DiagnosticsSettings,
        ("explain",): ExplainSettings,
        ("scoring",): ScoringSettings,
        ("controls",): ControlsSettings,  # issue 28, item 2
        **{("features", f): AttributionSettings for f in ATTRIBUTION_FEATURES},
        **{("detectors", name): cls for name, cls in DETECTOR_PARAMS.items()},
        **{("transforms", name): cls for name, cls in TRANSFORM_PARAMS.items()},
    }


def _contract_node(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The schema node of config section `path` (as written: a `$ref` is not followed); a path
    starting with `$defs` names a shared definition (every dataset's settings); () is the top."""
    if not path:
        return schema
    if path[0] == "$defs":
        return schema["$defs"][path[1]]
    node = schema["properties"][path[0]]
    for key in path[1:]:
        node = node["properties"][key]
    return node


# Keys whose default is another config key, not the dataclass's: a feature's `layers` is the
# run's global `layers` unless given.
_INHERITED_KEYS = {"features": ("layers",)}


def _fill_dataclass_defaults(schema: dict[str, Any]) -> None:
    """Set each contract field's default on its schema property (tuples as lists)."""
    import dataclasses

    for path, cls in settings_contracts().items():
        node = _contract_node(schema, path)
        keys = set(_resolve(schema, node).get("properties", {}))
        props = node.setdefault("properties", {})
        for f in dataclasses.fields(cls):
            inherited = f.name in _INHERITED_KEYS.get(path[0] if path else None, ())
            if f.name not in keys or inherited or f.default is dataclasses.MISSING:
                continue
            value = list(f.default) if isinstance(f.default, tuple) else f.default
            props.setdefault(f.name, {})["default"] = value


def _with_defaults(validator_class, root: dict[str, Any]):
    """`validator_class` that also fills each absent property's `default` while validating
    (the jsonschema FAQ recipe, as Snakemake's `validate(set_default=True)`), so one pass both
    checks and completes the config. A property that is a `$ref` (into `root`) takes the
    default of what it refers to, which Snakemake's `validate` does not follow."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                sub = _resolve(root, sub)
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


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


def schema_errors(
    config: dict[str, Any], schema: dict[str, Any] | None = None, set_defaults: bool = False
) -> list[str]:
    """All schema violations of `config`, one line each, sorted by key path; with
    `set_defaults`, absent keys that have a schema default are filled in, in place."""
    cls = jsonschema.Draft202012Validator
    schema = schema or _parsed_schema(str(SCHEMA))
    validator = (_with_defaults(cls, schema) if set_defaults else cls)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    return [_message(e) for e in errors]


def finetune_settings(config: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The top-level `finetune` keys (with the run's seed and device), overridden by the
    dataset's own `finetune` block."""
    own = (config["datasets"][dataset] or {}).get("finetune") or {}
    return {"seed": config["seed"], "device": config["device"], **config["finetune"], **own}


# --- seeds as replicates (issue 18; docs/statistics.md "Seeds as replicates") ---
def replicate_seeds(config: dict[str, Any]) -> list[int]:
    """The replicate seeds of a run: config `seeds`, else `[seed]` (one replicate)."""
    return [int(s) for s in (config.get("seeds") or [config["seed"]])]


def replicate_dir(seed: int, config: dict[str, Any]) -> str:
    """The `{replicate}` path level of replicate `seed`: "" for the run's `seed` (today's
    paths, results/{model}/{dataset}/...), "seed{n}/" for any other."""
    return "" if int(seed) == int(config["seed"]) else f"seed{int(seed)}/"


def concrete_layers(config: dict[str, Any], spec: Any, model: str, first: int = 1) -> Any:
    """`spec` (config `layers` or a feature's) as the rules pass it to a job: unchanged, except
    `"adapted"`, which becomes model `model`'s list (`quirkymad.core.layers.adapted_layers` of
    `finetune.lora_layers`), so a job's params equal those of the same list written out."""
    if spec != "adapted":
        return spec
    return model_layers(spec, model, config["models"][model], first=first,
                        lora_layers=config["finetune"]["lora_layers"])  # fmt: skip


def _check_adapted(config: dict[str, Any], specs: list[Any], source: str) -> None:
    """`layers: adapted` is one list per model: no dataset may adapt other blocks
    (`datasets.<name>.finetune.lora_layers`) than the top-level `finetune.lora_layers`."""
    if "adapted" not in [s for s in specs if isinstance(s, str)]:
        return
    top = config["finetune"]["lora_layers"]
    for name, settings in config["datasets"].items():
        own = ((settings or {}).get("finetune") or {}).get("lora_layers", top)
        if own != top:
            raise QuirkyError(f"{source}: datasets.{name}.finetune.lora_layers: {own} differs"
                              f" from finetune.lora_layers ({top}), which `layers: adapted` "
                              "reads; give every dataset the same or list the layers")  # fmt: skip


def replicate_seed(replicate: str, config: dict[str, Any]) -> int:
    """Inverse of `replicate_dir`: the seed of a `{replicate}` wildcard value."""
    return int(replicate[len("seed") : -1]) if replicate else int(config["seed"])


def model_depth(name: str, settings: dict[str, Any] | None) -> int:
    """Layers of registered model `name` with its config `settings` (the model registry's
    `ModelFacts`)."""
    from quirkymad.models import model_facts

    return model_facts(name, settings).n_layers


def model_layers(
    spec: str | Sequence[int],
    model: str,
    settings: dict[str, Any] | None = None,
    key: str = "layers",
    transform: bool = False,
    first: int = 1,
    lora_layers: int | Sequence[int] | None | object = NO_LORA,
) -> list[int]:
    """The layers `spec` (config `key`) names for registered model `model` with its config
    `settings`, its depth taken from the model registry (`model_depth`): what the config check
    and the transform rules resolve (extraction: `quirkymad.core.layers.resolve_layers` on the
    loaded weights); `lora_layers` (config `finetune.lora_layers`) resolves `"adapted"`. Plan
    time, so here and not in core/layers.py, which imports no stage (issue 29)."""
    depth = model_depth(model, settings)
    if transform:
        return transform_layers(spec, depth, key, f"model {model}")
    return resolve_layers(spec, depth, key, f"model {model}", first, lora_layers)


def _layer_keys(config: dict[str, Any]) -> list[tuple[str, Any, int]]:
    """(key, layers, first layer label) of every layer list the run reads
    (`quirkymad.core.layers.feature_layer_spec`): attribution-type features with `layer_index:
    cupbearer` number their layers 0..n-1, also when they read the global ones."""
    from quirkymad.core.layers import feature_layer_spec

    layer_keys = [("layers", config["layers"], 1)]
    for feature in config.get("features") or {}:
        key, spec, first = feature_layer_spec(config, feature)
        if key == "layers" and first == 0:
            key = f"layers (read by features.{feature}, layer_index: cupbearer)"
        if key != "layers":
            layer_keys.append((key, spec, first))
    return layer_keys


def check_config(
    config: dict[str, Any],
    source: str = "config",
    check_models: bool = True,
    set_defaults: bool = False,
):
    """Raise QuirkyError with one line naming the first bad key of `config`; with
    `set_defaults`, fill the schema's defaults into `config` in the same validation pass."""
    # The checks below read a complete config: the caller's own when asked to fill it, else a
    # filled copy (so no check restates a default).
    config = config if set_defaults else copy.deepcopy(config)
    errors = schema_errors(config, set_defaults=True)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise QuirkyError(f"{source}: {errors[0]}{more}")
    layer_keys = _layer_keys(config)
    _check_adapted(config, [spec for _, spec, _ in layer_keys], source)
    lora = config["finetune"]["lora_layers"]
    for name, settings in config["models"].items():
        for key, layers, first in layer_keys:
            try:
                model_layers(layers, name, settings, key, first=first, lora_layers=lora)
            except QuirkyError as exc:
                raise QuirkyError(f"{source}: {exc}") from None
        _check_transform_layers(config, name, settings, source)
        if check_models:
            from quirkymad.models import check_available

            try:
                check_available(name, settings)
            except QuirkyError as exc:
                raise QuirkyError(f"{source}: models.{name}: {exc}") from None
    _check_transform_detectors(config, source)
    _check_figure_inputs(config, source)
    _check_cross_field(config, source)
    _check_explain(config, source)
    from quirkymad.workflow.sweeps import check_sweeps  # sweeps (issue 20)

    check_sweeps(config, source)
    _check_combinations(config, source)
    _check_probe_target(config, source)
    # Raw data of every enabled dataset must be in the install-time cache (before any job).
    from quirkymad.datasets import get_dataset

    for name, settings in config["datasets"].items():
        try:
            get_dataset(name, settings).check_sources()
        except QuirkyError as exc:
            raise QuirkyError(f"{source}: datasets.{name}: {exc}") from None
    _check_triggers(config, source, check_models)


def _check_triggers(config: dict[str, Any], source: str, check_models: bool) -> None:
    """Every trigger dataset's trigger and decoys (`quirkymad.datasets.triggers`): the settings
    themselves, and (with `check_models`) each phrase against each model's tokenizer; one line
    naming the key."""
    from quirkymad.datasets.triggers import check_tokenizer, split_variant, trigger_settings

    triggers = {
        name: settings
        for name, settings in config["datasets"].items()
        if split_variant(name)[1] == "trigger"
    }
    if "trigger_mechanism" in (config.get("figures") or {}) and not triggers:
        raise QuirkyError(f"{source}: figures.trigger_mechanism needs a trigger dataset "
                          "(datasets: {NAME_trigger: {}}, docs/triggers.md)")  # fmt: skip
    checked = {}
    for name, settings in triggers.items():
        try:
            checked[name] = trigger_settings(name, settings)
        except QuirkyError as exc:
            raise QuirkyError(f"{source}: {exc}") from None
    if not checked or not check_models:
        return
    from quirkymad.models import model_tokenizer

    for model, model_settings in config["models"].items():
        tokenizer = model_tokenizer(model, model_settings)
        for name, trig in checked.items():
            try:
                check_tokenizer(tokenizer, trig, f"datasets.{name}.trigger")
            except QuirkyError as exc:
                raise QuirkyError(f"{source}: {exc} (tokenizer of model {model})") from None


def _check_probe_target(config: dict[str, Any], source: str, root: Path = Path(".")) -> None:
    """`features.probe_shift.probe_target: labels` on a dataset whose probe records are one
    class: one line before any job (issue 31), from the built dataset (its parquet under `root`,
    the run's directory) or, before it is built, from the dataset's `trusted_one_class`. `auto`
    is resolved by the job itself, from the same records."""
    probe = (config.get("features") or {}).get("probe_shift")
    if probe is None or probe.get("probe_target") != "labels":
        return
    from quirkymad.core.integrity import read_parquet
    from quirkymad.datasets import get_dataset
    from quirkymad.datasets.selection import mad_examples
    from quirkymad.features.probe_shift import resolve_target

    for name, settings in config["datasets"].items():
        path = root / "results" / "datasets" / name / "data.parquet"
        if not path.exists():
            if get_dataset(name, settings).trusted_one_class:
                raise QuirkyError(
                    f"{source}: datasets.{name}: features.probe_shift.probe_target: labels, but "
                    f"{name}'s trusted records share one label; use model or auto"
                )
            continue
        df = mad_examples(read_parquet(path), config["extract"]["max_per_role"])
        labels = df.loc[df["role"] == "trusted", "label"].to_numpy(dtype=bool)
        try:
            resolve_target("labels", labels[: probe["mean_cap"]])
        except QuirkyError as exc:
            raise QuirkyError(f"{source}: datasets.{name}: {exc}") from None


def _check_figure_inputs(config: dict[str, Any], source: str) -> None:
    """Each enabled figure is in the figure catalogue and has the scores it plots (its
    `needs`), named in one line: a figure without them would be a job with no input."""
    from quirkymad.figures.catalogue import FIGURE_CATALOGUE

    detectors = set(config.get("detectors") or {})
    features = set(config.get("features") or {})
    for figure in config.get("figures") or {}:
        if figure == "controls" and not config["controls"]["enabled"]:  # issue 28, item 2
            raise QuirkyError(f"{source}: figures.controls needs controls.enabled: true")
        if figure not in FIGURE_CATALOGUE:
            raise QuirkyError(
                f"{source}: unknown key figures.{figure} (allowed here:"
                f" {', '.join(sorted(FIGURE_CATALOGUE))})"
            )
        for need in FIGURE_CATALOGUE[figure].needs:
            if need in ("online", "offline"):
                have = {d for d in detectors if (d in OFFLINE_DETECTORS) == (need == "offline")}
                if not have:
                    raise QuirkyError(
                        f"{source}: figures.{figure} needs an {need} detector under `detectors:`"
                        f" ({'que' if need == 'offline' else 'e.g. mahalanobis'}); add one or"
                        f" remove the figure"
                    )
                continue
            feature, detector = need.split("/")
            if feature not in features or detector not in detectors:
                raise QuirkyError(
                    f"{source}: figures.{figure} needs features.{feature} and"
                    f" detectors.{detector}; enable both or remove the figure"
                )


def _check_cross_field(config: dict[str, Any], source: str) -> None:
    """Constraints between keys, which JSON Schema does not express: the stage settings'
    own `__post_init__` checks, run here so that they stop the run before any job."""
    from quirkymad.datasets import BuildSettings

    seed = {"seed": config["seed"]} if "seed" in config else {}
    try:
        BuildSettings(**{**seed, **(config.get("data") or {})})
    except QuirkyError as exc:
        raise QuirkyError(f"{source}: {exc}") from None


def _check_transform_layers(config: dict[str, Any], model: str, settings: Any, source: str):
    """Each transform's layers must be among the layers extracted for `model`."""
    extracted = model_layers(config["layers"], model, settings,
                             lora_layers=config["finetune"]["lora_layers"])  # fmt: skip
    for name, spec in transform_specs(config).items():
        wanted = spec["layers"]
        key = f"transforms.{name}.layers"
        try:
            chosen = model_layers(wanted, model, settings, key, transform=True)
        except QuirkyError as exc:
            raise QuirkyError(f"{source}: {exc}") from None
        bad = sorted(set(chosen) - set(extracted))
        if bad:
            raise QuirkyError(
                f"{source}: {key}: {wanted} -> {chosen} for model {model}, "
                f"but {bad} are not extracted (config layers: {config['layers']})"
            )


def _check_transform_detectors(config: dict[str, Any], source: str):
    """flow_prior / sae_l0 only under their own transform, never on raw features."""
    for det, transform in TRANSFORM_ONLY_DETECTORS.items():
        if det in config["detectors"]:
            raise QuirkyError(
                f"{source}: detectors.{det}: scores {transform} outputs only; "
                f"list it under transforms.{transform}.detectors"
            )
    for name, spec in (config.get("transforms") or {}).items():
        for det in spec["detectors"]:
            needs = TRANSFORM_ONLY_DETECTORS.get(det)
            if needs not in (None, name):
                raise QuirkyError(
                    f"{source}: transforms.{name}.detectors: {det} scores {needs} outputs only"
                )


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node` with a local `$ref` ("#/a/b") followed; its own keys win."""
    ref = node.get("$ref")
    if not ref:
        return node
    target = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**_resolve(schema, target), **{k: v for k, v in node.items() if k != "$ref"}}


def transform_specs(config: dict[str, Any], schema: dict[str, Any] | None = None):
    """`config["transforms"]` with every omitted key set to its schema default, so reruns see
    the values used; the check fills them too (`_with_defaults`), but callers may hand in a
    config that has not been through it (the plan, the sweeps' checks)."""
    schema = schema or _parsed_schema(str(SCHEMA))
    props = schema["properties"]["transforms"]["properties"]
    out = {}
    for name, spec in (config.get("transforms") or {}).items():
        defaults = {
            key: node["default"]
            for key, sub in props[name]["properties"].items()
            if "default" in (node := _resolve(schema, sub))
        }
        out[name] = {**defaults, **spec}
    return out


# --- explain (issue 21) ---
# Detectors whose score splits exactly over components (quirkymad/explain/decompose.py;
# tests/test_config.py checks it against quirkymad.explain.stage.DECOMPOSABLE).
EXPLAIN_DETECTORS = ("mahalanobis", "diag_mahalanobis", "que")


def explain_jobs(config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(feature, transform, detector) of each entry of `explain.scores`."""
    return [tuple(s.split("/")) for s in (config.get("explain") or {}).get("scores", [])]


def _check_explain(config: dict[str, Any], source: str) -> None:
    """Each explained job is scored by this config and its detector decomposes; explicit
    explanation layers are extracted."""
    features = set(config["features"])
    transforms = config.get("transforms") or {}
    for feature, transform, detector in explain_jobs(config):
        key = f"{source}: explain.scores: {feature}/{transform}/{detector}"
        if detector not in EXPLAIN_DETECTORS:
            raise QuirkyError(f"{key}: {detector} has no exact decomposition "
                              f"(explainable: {', '.join(EXPLAIN_DETECTORS)})")  # fmt: skip
        if feature not in features:
            raise QuirkyError(f"{key}: features.{feature} is not enabled")
        if transform == "none":
            scored = detector in config["detectors"]
        else:
            scored = feature == "activations" and detector in (
                (transforms.get(transform) or {}).get("detectors") or ()
            )
        if not scored:
            raise QuirkyError(f"{key}: this config does not score it (see detectors: and "
                              f"transforms.<name>.detectors; transforms read activations only)")  # fmt: skip
    if "explanations" in (config.get("figures") or {}) and (
        ("activations", "none", "mahalanobis") not in explain_jobs(config)
    ):
        raise QuirkyError(f"{source}: figures.explanations needs activations/none/mahalanobis "
                          f"in explain.scores; add it or remove the figure")  # fmt: skip
    layers = config["explain"]["layers"]
    if isinstance(layers, list):
        from quirkymad.core.layers import resolve_layers

        for name, settings in config["models"].items():
            extracted = resolve_layers(config["layers"], model_depth(name, settings),
                                       lora_layers=config["finetune"]["lora_layers"])  # fmt: skip
            bad = sorted(set(layers) - set(extracted))
            if bad:
                raise QuirkyError(f"{source}: explain.layers: {bad} are not extracted for "
                                  f"model {name} (config layers: {config['layers']})")  # fmt: skip


# --- combos helper (issue 19, item 2): layer and feature combinations ---
# (quirkymad/scoring/combinations.py; rules/combinations.smk; docs/detectors.md)
def combination_jobs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per combination scoring job of one model × dataset: `combination` (concat,
    merge, ensemble), `features` and `detectors` (lists), and the path labels `feature_label`
    / `detector_label` (merged stores and ensembled detectors joined with `+`)."""
    jobs = []
    combos = config.get("combinations") or {}
    for f in (combos.get("concat") or {}).get("features", []):
        for d in combos["concat"]["detectors"]:
            jobs.append({"combination": "concat", "features": [f], "detectors": [d]})
    if "merge" in combos:
        fs = list(combos["merge"]["features"])
        for d in combos["merge"]["detectors"]:
            jobs.append({"combination": "merge", "features": fs, "detectors": [d]})
    if "ensemble" in combos:
        for f in combos["ensemble"]["features"]:
            jobs.append({"combination": "ensemble", "features": [f],
                         "detectors": list(combos["ensemble"]["detectors"])})  # fmt: skip
    for job in jobs:
        job["feature_label"] = "+".join(job["features"])
        job["detector_label"] = "+".join(job["detectors"])
    return jobs


def _check_combinations(config: dict[str, Any], source: str) -> None:
    """Every combined feature is extracted, no transform-only detector, merged stores share a
    layer on every model."""
    from quirkymad.core.layers import feature_layers, scored_layers

    combos = config.get("combinations") or {}
    features = config["features"]
    for kind, spec in combos.items():
        check_raw_scored(spec["features"], spec["detectors"], features,
                         f"{source}: combinations.{kind}")  # fmt: skip
    if "merge" in combos:
        fs = combos["merge"]["features"]
        for name, settings in config["models"].items():
            depth = model_depth(name, settings)
            shared = None
            for f in fs:
                layers = scored_layers(f, feature_layers(config, f, depth, f"model {name}"))
                shared = set(layers) if shared is None else shared & set(layers)
            if not shared:
                raise QuirkyError(f"{source}: combinations.merge.features: {', '.join(fs)} share"
                                  f" no layer on model {name}")  # fmt: skip


def control_detectors(config: dict[str, Any]) -> list[str]:
    """The detectors of the base-model control: every raw detector, on activations, when
    `controls.enabled` and `controls.base_model` (the rules' CONTROL_DETECTORS)."""
    ctl = config["controls"]
    if not (ctl["enabled"] and ctl["base_model"] and "activations" in config["features"]):
        return []
    return sorted(config["detectors"])
