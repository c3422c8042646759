"""`layers: adapted` (issue 28, item 5) and the seeds overlay config/seeds.yaml (item 3)."""

import copy

import pytest
import yaml

from quirkymad.core.errors import QuirkyError
from quirkymad.core.layers import adapted_layers, resolve_layers
from quirkymad.workflow.config import check_config, concrete_layers
from tests.smk import REPO, planned_jobs, write_config

DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())
TINY = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())


def test_adapted_is_the_layers_after_the_lowest_adapted_block():
    # SmolLM2-135M: 30 blocks, top 10 adapted (blocks 20-29) -> residual layers 21..30
    assert adapted_layers(30, 10) == list(range(21, 31))
    assert adapted_layers(30, 10, first=0) == list(range(20, 30))  # cupbearer numbering
    assert adapted_layers(30, (25, 22)) == list(range(23, 31))
    assert adapted_layers(30, None) == list(range(1, 31))  # every block adapted
    # the tiny model: 2 blocks
    assert adapted_layers(2, 1) == [2] and adapted_layers(2, None) == [1, 2]
    assert resolve_layers("adapted", 2, lora_layers=1) == [2]
    with pytest.raises(QuirkyError, match="lora_layers"):
        resolve_layers("adapted", 2)  # a caller that forgot the fine-tune's blocks
    with pytest.raises(QuirkyError, match="layers: adapted"):
        resolve_layers("adapted", 2, lora_layers=3)


def test_the_default_config_resolves_adapted_to_the_list_it_had():
    cfg = copy.deepcopy(DEFAULT)
    assert cfg["layers"] == "adapted"
    check_config(cfg, set_defaults=True)
    assert concrete_layers(cfg, "adapted", "smollm2-135m") == list(range(21, 31))
    assert concrete_layers(cfg, [3, 4], "smollm2-135m") == [3, 4]  # lists and words unchanged
    assert concrete_layers(cfg, "all", "smollm2-135m") == "all"


def test_a_dataset_adapting_other_blocks_stops_adapted_at_plan_time():
    cfg = copy.deepcopy(TINY)
    cfg["layers"] = "adapted"  # every block adapted (lora_layers: null) -> every layer
    check_config(copy.deepcopy(cfg), check_models=False)
    name = next(iter(cfg["datasets"]))
    cfg["datasets"][name] = {**(cfg["datasets"][name] or {}), "finetune": {"lora_layers": 1}}
    with pytest.raises(QuirkyError, match=f"datasets.{name}.finetune.lora_layers") as err:
        check_config(cfg, check_models=False)
    assert "\n" not in str(err.value)


def test_adapted_plans_the_same_jobs_as_the_list_it_resolves_to(tmp_path):
    listed = {**DEFAULT, "layers": list(range(21, 31))}
    a = planned_jobs(tmp_path, write_config(tmp_path / "adapted.yaml", DEFAULT))
    b = planned_jobs(tmp_path, write_config(tmp_path / "listed.yaml", listed))
    assert a == b and a["extract_activations"] == len(DEFAULT["datasets"])


def test_seeds_overlay_plans_one_replicate_per_seed(tmp_path):
    seeds = yaml.safe_load((REPO / "config/seeds.yaml").read_text())
    assert set(seeds) == {"seeds"} and seeds["seeds"] == [1, 2, 3]
    n = len(DEFAULT["datasets"]) * len(DEFAULT["models"])
    jobs = planned_jobs(tmp_path, write_config(tmp_path / "s.yaml", {**DEFAULT, **seeds}))
    for rule in ("finetune_adapter", "extract_activations", "evaluate_quirkiness"):
        assert jobs[rule] == n * len(seeds["seeds"]), rule
    assert jobs["summarize_seeds"] == 1 and jobs["build_dataset"] == len(DEFAULT["datasets"])
