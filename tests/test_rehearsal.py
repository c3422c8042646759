"""The paper-config rehearsal (issue 31): its config is paper.yaml with only the model and the
schema-marked sizes replaced, and it plans every rule paper.yaml's DAG has."""

from __future__ import annotations

import copy

import pytest
import yaml

from quirkymad.rehearsal import (
    MARK,
    PAPER,
    REHEARSAL_MODELS,
    derive_config,
    failed_jobs,
    raw_schema,
)
from quirkymad.workflow.config import _resolve

from smk import planned_jobs, write_config


def _leaves(config, path=()):
    if isinstance(config, dict) and config:
        for key, value in config.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, config


def _marked(schema, path) -> bool:
    """Whether the schema marks the property at key `path` as a size (followed by hand here,
    independently of quirkymad.rehearsal's walk)."""
    node = schema
    for key in path:
        node = _resolve(schema, node).get("properties", {}).get(key)
        if node is None:
            return False
    return MARK in _resolve(schema, node)


@pytest.fixture(scope="module")
def paper():
    return yaml.safe_load(PAPER.read_text())


def test_every_paper_key_is_kept_unless_model_or_size(paper):
    schema = raw_schema()
    derived, changed = derive_config(paper)
    assert derived["models"] == REHEARSAL_MODELS and derived["device"] == "auto"
    assert derived["finetune"]["dtype"] == derived["extract"]["dtype"] == "auto"
    kept = sized = 0
    for path, value in _leaves(paper):
        if path[0] == "models":
            continue
        node = derived
        for key in path:
            assert key in node, f"{'.'.join(path)} missing from the rehearsal config"
            node = node[key]
        if _marked(schema, path):
            assert node == _resolve(schema, _sub(schema, path))[MARK], path
            sized += 1
        else:
            assert node == value, f"{'.'.join(path)}: {node!r} != paper's {value!r}"
            kept += 1
    assert kept > 50 and sized >= 15  # 12 datasets' n_base, epochs, steps, dtypes, ...
    for path in ("datasets.squaring.n_base", "finetune.epochs", "datasets.capitals.finetune.epochs",
                 "extract.max_per_role", "transforms.sae.steps", "transforms.flow.hidden",
                 "transforms.sae.expansion", "scoring.n_bootstrap", "finetune.max_train_examples",
                 "diagnostics.max_per_character"):  # fmt: skip
        assert path in changed, path


def _sub(schema, path):
    node = schema
    for key in path:
        node = _resolve(schema, node)["properties"][key]
    return node


def test_a_new_paper_key_is_rehearsed_unchanged(paper):
    new = copy.deepcopy(paper)
    new["figures"]["sweep_n_trusted"] = {}
    new["data"]["easy_quantile"] = 0.2
    new["features"]["probe_shift"]["probe_target"] = "model"
    derived, _ = derive_config(new)
    assert derived["figures"]["sweep_n_trusted"] == {}
    assert derived["data"]["easy_quantile"] == 0.2
    assert derived["features"]["probe_shift"]["probe_target"] == "model"


def test_failed_jobs_are_named():
    log = (
        "[Thu Dec  3 12:00:00 2026]\nError in rule extract_attribution:\n"
        "    jobid: 12\n    output: results/x\n    wildcards: model=tiny-random, dataset=population\n"
        "\nError in rule plot_figure:\n    jobid: 3\n"
        "Error in rule extract_attribution:\n    wildcards: model=tiny-random, dataset=population\n"
    )
    assert failed_jobs(log) == [
        "extract_attribution (model=tiny-random, dataset=population)",
        "plot_figure",
    ]
    # Snakemake 9 names no wildcards: the job's log file tells it apart.
    log9 = (
        "Error in rule finetune_adapter:\n    message: None\n    jobid: 22\n"
        "    input: results/models/tiny-random, results/datasets/authors/data.parquet\n"
        "    output: results/tiny-random/authors/adapter, results/x.csv\n"
        "    log: logs/finetune_adapter/tiny-random/authors.log (check log file(s) for error)\n"
        "Will exit after finishing currently running jobs (scheduler).\n"
    )
    assert failed_jobs(log9) == ["finetune_adapter (logs/finetune_adapter/tiny-random/authors.log)"]
    assert failed_jobs("Finished job 3.\n3 of 3 steps (100%) done\n") == []


def test_rehearsal_plans_every_rule_of_the_paper_dag(paper, tmp_path):
    derived, _ = derive_config(paper)
    (tmp_path / "paper").mkdir()
    (tmp_path / "rehearsal").mkdir()
    # paper.yaml's DAG: itself at full size, on the tiny model (its own models are not on disk).
    # paper.yaml's device (cuda) is not present here; its dtypes on a CPU are what auto picks.
    paper_tiny = {**paper, "models": REHEARSAL_MODELS, "device": "auto"}
    paper_tiny = write_config(tmp_path / "p.yaml", paper_tiny)
    paper_jobs = planned_jobs(tmp_path / "paper", paper_tiny)
    jobs = planned_jobs(tmp_path / "rehearsal", write_config(tmp_path / "r.yaml", derived))
    assert sum(jobs.values()) > 0
    missing = set(paper_jobs) - set(jobs)
    assert not missing, f"rules of paper.yaml's DAG the rehearsal does not run: {missing}"
