"""The job table (quirkymad/workflow/jobs.py) is the DAG: one row per `snakemake -n` job, with
the job's rule and one of its outputs (issue 29: the DAG is enumerated once)."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from quirkymad.workflow import plan
from quirkymad.workflow.jobs import job_table
from tests.smk import REPO, planned_outputs, write_config

TINY = REPO / "tests" / "data" / "tiny.yaml"
PAPER = REPO / "config" / "paper.yaml"


def _overlay(tmp_path, *files):
    """Snakemake's merge of several `--configfile`s (later keys over earlier, recursively)."""
    from snakemake.utils import update_config

    merged: dict = {}
    for f in files:
        update_config(merged, yaml.safe_load(f.read_text()))
    return write_config(tmp_path / "merged.yaml", merged)


CONFIGS = {
    "tiny": lambda tmp: TINY,
    "paper": lambda tmp: PAPER,
    "default": lambda tmp: REPO / "config.yaml",
    "seeds+sweeps": lambda tmp: _overlay(
        tmp, REPO / "config.yaml", REPO / "config" / "seeds.yaml", REPO / "config" / "sweeps.yaml"
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_rows_are_the_dry_runs_jobs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("QUIRKYMAD_SKIP_MODEL_CHECK", "1")  # paper weights are not here
    configfile = CONFIGS[name](tmp_path)
    dag = planned_outputs(tmp_path, configfile)
    table = job_table(plan.load_config(configfile))
    assert Counter(r.rule for r in table.rows) == Counter(rule for rule, _ in dag)
    outputs = [r.output for r in table.rows]
    assert len(set(outputs)) == len(outputs), "two rows name one job"
    rule_of = {o: rule for rule, outs in dag for o in outs} | {"all": "all"}
    wrong = [(r.rule, r.output, rule_of.get(r.output)) for r in table.rows
             if rule_of.get(r.output) != r.rule]  # fmt: skip
    assert not wrong, wrong[:5]


def test_a_missing_row_is_caught(tmp_path, monkeypatch):
    """The comparison above fails when the table forgets a job (here: the loss curves)."""
    config = plan.load_config(TINY)
    table = job_table(config)
    dag = planned_outputs(tmp_path, TINY)
    kept = [r for r in table.rows if r.rule != "plot_loss_curve"]
    assert Counter(r.rule for r in kept) != Counter(rule for rule, _ in dag)


def test_the_plan_costs_the_tables_rows():
    """`quirkymad plan` enumerates nothing itself: one costed job per row."""
    for configfile in (TINY, PAPER):
        config = plan.load_config(configfile)
        jobs, _ = plan.plan_jobs(config, plan.PlanOptions())
        assert Counter(j.rule for j in jobs) == Counter(r.rule for r in job_table(config).rows)


def test_seeds_and_primary_replicate(tmp_path):
    """Per-seed rows for every seed; combinations and sweep points for the run's seed only."""
    config = plan.load_config(_overlay(tmp_path, TINY))
    config["seeds"] = [config["seed"], 7]
    table = job_table(config)
    assert table.replicates == ["", "seed7/"]
    assert {r.replicate for r in table.of("finetune_adapter")} == {"", "seed7/"}
    assert {r.replicate for r in table.of("score_sweep_point")} == {""}
    assert [j["seed"] for j in table.adapter_jobs()] == [config["seed"], 7]


def test_dag_dump_lists_every_job_with_its_params(tmp_path):
    """scripts/dag_dump.py (the before/after check of a refactor) writes one line per job."""
    import json
    import subprocess
    import sys

    out = tmp_path / "dag.jsonl"
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "dag_dump.py"), str(out),
                          "--configfile", str(TINY)], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    table = job_table(plan.load_config(TINY))
    assert Counter(r["rule"] for r in rows) == Counter(r.rule for r in table.rows)
    score = next(r for r in rows if r["rule"] == "score_detector")
    assert "hparams" in score["params"] and "scoring" in score["params"]
