"""Each stage's settings dataclass and config/schema.yaml agree on every default BY VALUE
(a default written twice must at least be the same number; for the contracts of
`settings_contracts()` it is written once, in the dataclass, and filled into the schema), and the schema's cross-field
rules are the dataclasses' `__post_init__` checks, run by the config check before any job."""

from __future__ import annotations

import dataclasses

import pytest

from quirkymad.workflow.config import _resolve, load_schema

SCHEMA = load_schema()
SCHEMA_LOADED = SCHEMA
PROPS = SCHEMA["properties"]
# Keys whose default deliberately lives elsewhere: a feature's `layers` inherits the global
# `layers`; a transform's `layers` / `train_on` are wiring read by the rules, not Params.
INHERITED = {("features", "layers"), ("transforms", "layers"), ("transforms", "train_on")}


def _dataclass_defaults(cls) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _contracts():
    from quirkymad.datasets import BuildSettings
    from quirkymad.detectors import DETECTORS
    from quirkymad.features.extraction import AttributionSettings, ExtractSettings
    from quirkymad.finetune import FinetuneSettings
    from quirkymad.transforms import TRANSFORMS

    yield "data", PROPS["data"], BuildSettings
    yield "finetune", PROPS["finetune"], FinetuneSettings
    yield "extract", PROPS["extract"], ExtractSettings
    for feature in ("attribution", "probe_shift"):
        yield "features", PROPS["features"]["properties"][feature], AttributionSettings
    for name, cls in DETECTORS.items():
        yield "detectors", PROPS["detectors"]["properties"][name], cls.Params
    for name, kind in TRANSFORMS.items():
        yield "transforms", PROPS["transforms"]["properties"][name], kind.Params


@pytest.mark.parametrize("section, node, cls", list(_contracts()))
def test_schema_defaults_equal_dataclass_defaults(section, node, cls):
    ours = _dataclass_defaults(cls)
    for key, sub in _resolve(SCHEMA, node).get("properties", {}).items():
        sub = _resolve(SCHEMA, sub)
        if (section, key) in INHERITED:
            continue
        assert ("default" in sub) == (key in ours), f"{section}.{key}: default in one place only"
        if key in ours:
            want = list(ours[key]) if isinstance(ours[key], tuple) else ours[key]
            assert sub["default"] == want, f"{section}.{key}: {sub['default']} != {want}"


def test_run_only_fields_are_marked_on_the_field_and_left_out_of_the_resume_hash():
    from quirkymad.finetune import FinetuneSettings
    from quirkymad.finetune.checkpoint import settings_hash
    from quirkymad.finetune.settings import run_only_keys

    assert run_only_keys() == ("checkpoint_every",)
    base = dataclasses.asdict(FinetuneSettings(checkpoint_every=5))
    assert settings_hash(base) == settings_hash({**base, "checkpoint_every": 50})
    assert settings_hash(base) != settings_hash({**base, "lr": 1e-3})


def test_the_finetune_contract_and_the_config_check_load_without_torch():
    import json
    import subprocess
    import sys

    code = (
        "import json, sys; import quirkymad.workflow.config; from quirkymad.finetune import "
        "FinetuneSettings; FinetuneSettings(); print(json.dumps('torch' in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False


def test_contract_defaults_are_written_once_in_the_dataclass():
    """Every stage contract's defaults live only in its dataclass: the schema file has none for
    them, the loaded schema has every one, equal by value."""
    import yaml

    from quirkymad.workflow.config import SCHEMA, _contract_node, settings_contracts

    raw = yaml.safe_load(SCHEMA.read_text())
    assert {p[0] if p else "" for p in settings_contracts()} >= {
        "", "data", "finetune", "extract", "diagnostics", "explain", "scoring", "features",
        "detectors", "transforms",
    }  # fmt: skip
    for path, cls in settings_contracts().items():
        where = ".".join(path) or "<top level>"
        node = _contract_node(raw, path)
        typed = {k: _resolve(raw, v) for k, v in _resolve(raw, node).get("properties", {}).items()}
        fields = {f.name for f in dataclasses.fields(cls)}
        assert not [k for k, v in typed.items() if "default" in v and k in fields], where
        loaded = _contract_node(SCHEMA_LOADED, path)["properties"]
        for key, want in _dataclass_defaults(cls).items():
            if key in typed and (path[0] if path else "", key) not in INHERITED:
                want = list(want) if isinstance(want, tuple) else want
                assert loaded[key]["default"] == want, f"{where}.{key}"


def test_the_config_check_fills_contract_defaults_into_a_config():
    from quirkymad.workflow.config import schema_errors

    config = {"models": {"tiny-random": {}}, "datasets": {"addition": {}},
              "detectors": {"que": {}, "mahalanobis": {"rcond": 0.01}},
              "transforms": {"flow": {"detectors": ["mahalanobis"]}}}  # fmt: skip
    assert schema_errors(config, set_defaults=True) == []
    assert config["detectors"] == {"que": {"alpha": 4.0, "rcond": 1e-3, "untrusted": "test"},
                                   "mahalanobis": {"rcond": 0.01}}  # fmt: skip
    assert config["transforms"]["flow"]["steps"] == 300
    assert config["scoring"] == {"n_bootstrap": 1000, "name_bootstrap": "keep",
                                 "n_permutations": 1000, "n_refit": 20}  # fmt: skip
    assert config["controls"] == {"enabled": True, "base_model": True}  # issue 28
    assert config["extract"]["max_per_role"] == 4000
    # defaults behind a `$ref` too: addition's n_base, the flow's wiring keys
    from quirkymad.datasets.base import DatasetSettings

    assert config["datasets"]["addition"] == {"n_base": DatasetSettings.n_base}
    assert config["transforms"]["flow"]["train_on"] == "finetuned"
    assert config["transforms"]["flow"]["layers"] == "auto"
    assert (config["seed"], config["device"], config["layers"]) == (0, "auto", "all")


def test_no_defaults_left_in_the_library_as_config_fallbacks():
    """The config is complete after the check: no `.get(key, <literal>)` fallbacks for
    contract keys in the library or the rules."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    keys = {f.name for cls in __import__("quirkymad.workflow.config", fromlist=["x"])
            .settings_contracts().values() for f in dataclasses.fields(cls)}  # fmt: skip
    literal = r"(?:-?\d|\"|'|\[|\{|True|False|None)"
    pattern = re.compile(r"\.get\(\"(" + "|".join(sorted(keys)) + r")\", " + literal)
    hits = [f"{p.relative_to(root)}:{i}" for p in [*root.glob("quirkymad/**/*.py"),
            *root.glob("rules/*.smk")] for i, line in enumerate(p.read_text().splitlines(), 1)
            if pattern.search(line)]  # fmt: skip
    assert hits == []
