"""The schema, the registries, the default config and the conda envs agree."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from quirkymad.core.errors import QuirkyError
from quirkymad.datasets import dataset_names
from quirkymad.detectors import DETECTORS
from quirkymad.models import MODELS
from quirkymad.workflow.config import check_config, load_schema, schema_errors

REPO = Path(__file__).resolve().parent.parent
SCHEMA = load_schema()


def test_schema_names_match_registries():
    props = SCHEMA["properties"]
    assert set(props["models"]["properties"]) == set(MODELS)
    assert set(props["datasets"]["properties"]) == set(dataset_names())
    assert set(props["detectors"]["properties"]) == set(DETECTORS)


@pytest.mark.parametrize("name", ["config.yaml", "config/paper.yaml", "tests/data/tiny.yaml"])
def test_shipped_configs_are_valid(name):
    assert schema_errors(yaml.safe_load((REPO / name).read_text())) == []


def _compare(ours, reference, path=""):
    """(key paths whose values differ or that only `reference` has, key paths only `ours` has)."""
    if not (isinstance(ours, dict) and isinstance(reference, dict)):
        return ([] if ours == reference else [path]), []
    differ = [f"{path}.{k}".lstrip(".") for k in reference if k not in ours]
    extra = [f"{path}.{k}".lstrip(".") for k in ours if k not in reference]
    for k in set(ours) & set(reference):
        d, e = _compare(ours[k], reference[k], f"{path}.{k}".lstrip("."))
        differ, extra = differ + d, extra + e
    return differ, extra


@pytest.mark.parametrize("name", ["config.yaml", "config/paper.yaml", "tests/data/tiny.yaml"])
def test_defaults_filled_as_snakemake_validate_fills_them(name, tmp_path):
    """check_config's one-pass default filling (what the Snakefile uses) fills every default
    Snakemake's `validate(set_default=True)`, the reference it replaces, fills, with the same
    value, on the schema as loaded (the settings dataclasses' defaults filled in); and also the
    defaults of properties that are a `$ref`, which `validate` skips."""
    import copy

    from snakemake.utils import validate

    from quirkymad.workflow.config import load_schema

    schema = tmp_path / "schema.yaml"
    schema.write_text(yaml.safe_dump(load_schema()))
    cfg = yaml.safe_load((REPO / name).read_text())
    ours, reference = copy.deepcopy(cfg), copy.deepcopy(cfg)
    check_config(ours, check_models=False, set_defaults=True)
    validate(reference, str(schema), set_default=True)
    assert ours != cfg
    differ, extra = _compare(ours, reference)
    assert differ == []
    # what only ours fills: defaults behind a $ref (of the shipped configs only tiny omits one)
    assert extra == (["transforms.flow.train_on"] if name.startswith("tests") else [])
    if extra:
        assert ours["transforms"]["flow"]["train_on"] == "finetuned"
    check_config(cfg, check_models=False)
    assert cfg == yaml.safe_load((REPO / name).read_text())  # without set_defaults: untouched


def test_offline_detectors_match_registry():
    from quirkymad.workflow.config import OFFLINE_DETECTORS

    assert {n for n, cls in DETECTORS.items() if cls.offline} == OFFLINE_DETECTORS


def test_detector_schema_matches_params():
    import dataclasses

    for name, cls in DETECTORS.items():
        schema_keys = set(
            SCHEMA["properties"]["detectors"]["properties"][name].get("properties", {})
        )
        assert schema_keys == {f.name for f in dataclasses.fields(cls.Params)}, name


def test_check_config_messages_name_the_key():
    base = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    bad = {**base, "finetune": {**base["finetune"], "lr": -1}}
    with pytest.raises(QuirkyError, match=r"^config: finetune.lr: -1 is less than or equal"):
        check_config(bad, check_models=False)
    with pytest.raises(QuirkyError, match=r"unknown key datasets.capitalz"):
        check_config({**base, "datasets": {"capitalz": {}}}, check_models=False)


def test_feature_layers_and_figure_needs_are_checked():
    base = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    feats = {**base["features"], "probe_shift": {"layers": [1, 5]}}
    with pytest.raises(QuirkyError, match=r"features.probe_shift.layers: \[5\] out of range 1..2"):
        check_config({**base, "features": feats}, check_models=False)
    # layer_index: cupbearer numbers layers 0..n-1, the global layers it reads included
    cup = {**base["features"], "attribution": {"layer_index": "cupbearer"}}
    check_config({**base, "features": cup}, check_models=False)  # `all` = 0..1
    with pytest.raises(QuirkyError, match=r"read by features.attribution.*\[2\] out of range 0..1"):
        check_config({**base, "layers": [1, 2], "features": cup}, check_models=False)
    cup["attribution"]["layers"] = [0, 1]
    check_config({**base, "layers": [1, 2], "features": cup}, check_models=False)
    no_attr = {k: v for k, v in base["features"].items() if k != "attribution"}
    with pytest.raises(
        QuirkyError, match="figures.attribution_auroc_vs_quirkiness needs features.attribution"
    ):
        check_config({**base, "features": no_attr}, check_models=False)


def test_feature_settings_match_attribution_settings():
    import dataclasses

    from quirkymad.features.extraction import AttributionSettings

    fields = {f.name for f in dataclasses.fields(AttributionSettings)}
    for feature in ("attribution", "probe_shift", "attribution_pcs", "attribution_grad_norm"):
        assert set(SCHEMA["properties"]["features"]["properties"][feature]["properties"]) <= fields


def _pins(lines):
    return {re.split(r"[=<>]", x)[0].lower(): x for x in lines if not x.startswith("-")}


def test_conda_envs_agree_with_pyproject():
    deps = _pins(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert {e.stem for e in envs} >= {
        "models",
        "datasets",
        "finetune",
        "extract",
        "detect",
        "figures",
    }
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        for name, pin in _pins(pip).items():
            assert deps.get(name) == pin, f"{env.name}: {pin} != pyproject {deps.get(name)}"
        assert "--editable .." in pip
    for rule_file in (REPO / "rules").glob("*.smk"):
        for env in re.findall(r'"\.\./(envs/[\w.]+)"', rule_file.read_text()):
            assert (REPO / env).is_file()


def test_finetune_schema_matches_settings_and_dataset_overrides_get_no_defaults():
    import copy
    import dataclasses

    from quirkymad.finetune import FinetuneSettings

    keys = set(SCHEMA["$defs"]["finetune_settings"]["properties"])
    assert keys == {f.name for f in dataclasses.fields(FinetuneSettings)} - {"seed", "device"}
    assert set(SCHEMA["properties"]["finetune"]["properties"]) == keys  # every key has a default
    base = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    cfg = copy.deepcopy(base)
    cfg["datasets"]["addition"]["finetune"] = {"epochs": 60, "micro_batch_size": 2}
    assert schema_errors(cfg, set_defaults=True) == []
    # Defaults fill the top level only: an override holds exactly what the user wrote.
    assert cfg["datasets"]["addition"]["finetune"] == {"epochs": 60, "micro_batch_size": 2}
    assert cfg["finetune"]["patience"] == 3 and cfg["finetune"]["lr"] == base["finetune"]["lr"]
    cfg["datasets"]["addition"]["finetune"]["epochz"] = 1
    with pytest.raises(QuirkyError, match=r"unknown key datasets.addition.finetune.epochz"):
        check_config(cfg, check_models=False)


def test_transform_schema_matches_registries():
    import dataclasses

    from quirkymad.transforms import TRANSFORMS
    from quirkymad.workflow.config import TRANSFORM_ONLY_DETECTORS, TRANSFORM_WIRING_KEYS

    assert set(SCHEMA["$defs"]["detector_name"]["enum"]) == set(DETECTORS)
    assert {n: c.transform for n, c in DETECTORS.items() if c.transform} == (
        TRANSFORM_ONLY_DETECTORS
    )
    props = SCHEMA["properties"]["transforms"]["properties"]
    assert set(props) == set(TRANSFORMS)
    for name, kind in TRANSFORMS.items():
        fields = {f.name for f in dataclasses.fields(kind.Params)} - {"seed"}  # seed: config seed
        assert set(props[name]["properties"]) == fields | set(TRANSFORM_WIRING_KEYS), name


def test_transform_layers_auto_scales_the_papers_23_29():
    from quirkymad.core.layers import transform_layers

    assert transform_layers("auto", 32) == [23, 29]
    assert transform_layers("auto", 30) == [22, 27]
    assert transform_layers("auto", 2) == [1, 2]
    assert transform_layers([9, 3], 30) == [3, 9]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["detectors"].update({"flow_prior": {}}),
         "config: detectors.flow_prior: scores flow outputs only; list it under transforms.flow"),
        (lambda c: c["transforms"]["sae"]["detectors"].append("flow_prior"),
         "config: transforms.sae.detectors: flow_prior scores flow outputs only"),
        (lambda c: c["transforms"]["flow"].update({"layers": [2, 3]}),
         r"config: transforms.flow.layers: \[3\] out of range 1..2"),
        (lambda c: c.update({"layers": [1]}),
         r"config: transforms.flow.layers: auto -> \[1, 2\] for model tiny-random, but \[2\] "
         r"are not extracted"),
        (lambda c: c["transforms"]["sae"].update({"k": 0}), "config: transforms.sae.k: 0 is less"),
    ],
)  # fmt: skip
def test_transform_config_errors_name_the_key(edit, message):
    cfg = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    edit(cfg)
    with pytest.raises(QuirkyError, match=message):
        check_config(cfg, check_models=False)


def test_transform_specs_fill_schema_defaults():
    from quirkymad.workflow.config import transform_specs

    specs = transform_specs({"transforms": {"sae": {"detectors": ["sae_l0"], "k": 4}}})
    assert specs == {"sae": {"detectors": ["sae_l0"], "k": 4, "layers": "auto",
                             "train_on": "finetuned", "expansion": 4, "steps": 300,
                             "batch_size": 128, "lr": 1.0e-3}}  # fmt: skip


def test_figure_without_its_scores_is_a_one_line_error():
    base = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    from quirkymad.workflow.config import OFFLINE_DETECTORS

    online = {k: v for k, v in base["detectors"].items() if k not in OFFLINE_DETECTORS}
    no_que = {**base, "detectors": online}
    no_que["figures"] = {"offline_auroc_per_layer": {}}
    with pytest.raises(QuirkyError, match=r"^config: figures.offline_auroc_per_layer needs an"):
        check_config(no_que, check_models=False)
    fig8 = {
        **base,
        "features": {"activations": {}},
        "figures": {"attribution_auroc_vs_quirkiness": {}},
    }
    with pytest.raises(QuirkyError, match=r"needs features.attribution and detectors.mahalanobis"):
        check_config(fig8, check_models=False)


def test_unknown_figure_is_a_one_line_error():
    base = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    with pytest.raises(QuirkyError, match=r"^config: unknown key figures.fig99 \(allowed here: "):
        check_config({**base, "figures": {"fig99": {}}}, check_models=False)


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"easy_quantile": 0.9, "hard_quantile": 0.75},
            r"^config: data.easy_quantile=0.9 and data.hard_quantile=0.75 must satisfy",
        ),
        ({"split_fractions": [0.6, 0.3, 0.3]}, r"^config: data.split_fractions=\(0.6, 0.3, 0.3\)"),
    ],
)
def test_cross_field_data_settings_are_one_line_errors(data, message):
    base = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    with pytest.raises(QuirkyError, match=message) as err:
        check_config({**base, "data": data}, check_models=False)
    assert "\n" not in str(err.value)


# --- explain (issue 21) ---
@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["explain"]["scores"].append("activations/none/lof"),
         "config: explain.scores: activations/none/lof: lof has no exact decomposition"),
        (lambda c: c["explain"]["scores"].append("attribution/flow/mahalanobis"),
         "config: explain.scores: attribution/flow/mahalanobis: this config does not score it"),
        (lambda c: c["explain"]["scores"].append("activations/sae/que"),
         "config: explain.scores: activations/sae/que: this config does not score it"),
        (lambda c: c["features"].pop("probe_shift"),
         "config: explain.scores: probe_shift/none/diag_mahalanobis: features.probe_shift is not"),
        (lambda c: c["explain"].update({"layers": [2, 3]}),
         r"config: explain.layers: \[3\] are not extracted for model tiny-random"),
        (lambda c: c["explain"].update({"flag_quantile": 1}), "config: explain.flag_quantile"),
        (lambda c: c["explain"]["scores"].append("activations"), "config: explain.scores.6"),
        (lambda c: c["explain"]["scores"].remove("activations/none/mahalanobis"),
         "config: figures.explanations needs activations/none/mahalanobis in explain.scores"),
    ],
)  # fmt: skip
def test_explain_config_errors_name_the_key(edit, message):
    cfg = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    edit(cfg)
    with pytest.raises(QuirkyError, match=message):
        check_config(cfg, check_models=False)


def test_replicate_seeds_and_their_paths():
    """Seeds as replicates (issue 18): the run's `seed` keeps today's paths."""
    from quirkymad.workflow.config import replicate_dir, replicate_seed, replicate_seeds

    config = {"seed": 3}
    assert replicate_seeds(config) == [3] and replicate_dir(3, config) == ""
    config["seeds"] = [3, 0, 12]
    assert [replicate_dir(s, config) for s in replicate_seeds(config)] == ["", "seed0/", "seed12/"]
    assert [replicate_seed(replicate_dir(s, config), config) for s in config["seeds"]] == [3, 0, 12]
    base = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    with pytest.raises(QuirkyError, match="seeds"):
        check_config({**base, "seeds": [0, 0]}, check_models=False)
