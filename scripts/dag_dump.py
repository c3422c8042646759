"""Write every job of a config's DAG as one JSON line: rule, wildcards, inputs (in order),
outputs, params, group and resources. For refactors of the rules or of the job table: dump
before and after, then `cmp` the two files (docs/architecture.md).

    .venv/bin/python scripts/dag_dump.py OUT.jsonl --configfile config.yaml [more snakemake args]

Runs Snakemake's `--dag` with a dry run in a scratch directory (`QUIRKYMAD_SKIP_MODEL_CHECK=1`
lets configs whose weights are not here plan); nothing under results/ is touched.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import snakemake.api  # noqa: F401  (imports snakemake.workflow without a circular import)
from snakemake import workflow as snakemake_workflow

REPO = Path(__file__).resolve().parent.parent


def job_rows(dag) -> list[dict]:
    """One dict per job of a built Snakemake DAG, sorted by rule and outputs."""
    rows = [
        {
            "rule": job.rule.name,
            "wildcards": dict(job.wildcards.items()),
            "input": [str(f) for f in job.input],
            "output": sorted(str(f) for f in job.output),
            "params": repr(sorted(job.params.items(), key=lambda kv: kv[0])),
            "group": str(job.group) if job.group else None,
            "resources": repr(sorted((k, v) for k, v in job.resources.items() if not callable(v))),
        }
        for job in dag.jobs
    ]
    return sorted(rows, key=lambda r: (r["rule"], r["output"]))


def main(argv: list[str]) -> None:
    out, args = Path(argv[0]), argv[1:]

    def dump(self) -> None:  # replaces Workflow.printdag for this process
        self._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
        self._build_dag()
        out.write_text("".join(json.dumps(r, default=str) + "\n" for r in job_rows(self.dag)))

    snakemake_workflow.Workflow.printdag = dump
    os.environ.setdefault("QUIRKYMAD_SKIP_MODEL_CHECK", "1")
    from snakemake.cli import main as snakemake_main

    with tempfile.TemporaryDirectory() as scratch:
        snakemake_main(["--snakefile", str(REPO / "Snakefile"), "--directory", scratch,
                        "--dag", "-n", "-F", "--cores", "1", *args])  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
