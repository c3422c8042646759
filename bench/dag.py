"""How long a no-op `snakemake -n` takes over the paper's full DAG (issue: "a no-op is instant").

Builds the DAG of `config/paper.yaml` (2 models × 12 datasets, every feature, transform and
detector it enables) in a scratch directory, with each model's `path:` pointing at a stand-in
directory that holds only a `config.json` (the weights are not needed to plan). It then creates
every output of the DAG, empty, in job order (so each is newer than its inputs), records each
job in Snakemake's metadata as a real run does (so the dry run pays for the same params / code
/ input checks as after a real run), checks that a dry run has nothing to do, and times that
dry run; a full-plan dry run in the same directory (nothing built) is timed as the baseline.

    .venv/bin/python bench/dag.py [--config config/paper.yaml] [--repeat 5] [--keep]

Prints the job count, the median and fastest no-op time, the full-plan time and their ratio
(`--keep` keeps the scratch directory, e.g. to profile a dry run there). Not a test:
timings depend on the machine (the goal is < 3 s on a 2-core CI machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def _stand_in_models(config: dict, root: Path) -> dict:
    """Point every model at a directory with only a config.json (planning needs no weights)."""
    for name in config["models"]:
        d = root / "models" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(json.dumps({"model_type": "stand-in"}))
        config["models"][name] = {**(config["models"][name] or {}), "path": str(d)}
    return config


def _build_outputs(workdir: Path, configfile: Path) -> int:
    """Create every output of the DAG, empty, in job order, and record each job as finished in
    Snakemake's metadata exactly as a real run does (code, params, input, software stack), so
    the no-op dry run pays for the same rerun-trigger checks as after a real run. Returns the
    number of outputs."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        ExecutionSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
        WorkflowSettings,
    )

    with SnakemakeApi(OutputSettings()) as api:
        wf_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[configfile]),
            storage_settings=StorageSettings(),
            workflow_settings=WorkflowSettings(),
            snakefile=REPO / "Snakefile",
            workdir=workdir,
        )
        dag_api = wf_api.dag(dag_settings=DAGSettings())
        # Snakemake's public API prints DAGs but does not return one; this mirrors
        # Workflow.printfilegraph (Snakemake 9).
        wf = dag_api.workflow_api._workflow
        wf._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True)
        wf._build_dag()
        wf.execution_settings = ExecutionSettings()  # what `finished` reads (keep_metadata)
        n = 0
        for level in wf.dag.toposorted():
            for job in level:
                for f in job.output:
                    p = workdir / str(f)
                    if f.is_directory:
                        p.mkdir(parents=True, exist_ok=True)
                        # Snakemake's mtime carrier of a directory output, as after a real job.
                        (p / ".snakemake_timestamp").touch()
                    else:
                        p.parent.mkdir(parents=True, exist_ok=True)
                        p.touch()
                    n += 1
                wf.async_run(wf.persistence.finished(job))
                # Distinct, increasing mtimes in job order: each output newer than its inputs.
                time.sleep(0.002)
        return n


def _dry_run(workdir: Path, configfile: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, its output) of one `snakemake -n`."""
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(configfile), "-n", "--quiet", "rules"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout + out.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(REPO / "config" / "paper.yaml"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (to profile)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="quirkymad-dag-"))
    try:
        config = _stand_in_models(yaml.safe_load(Path(args.config).read_text()), root)
        cfg = root / "config.yaml"
        cfg.write_text(yaml.safe_dump(config, sort_keys=False))
        wd = root / "wd"
        wd.mkdir()
        full, full_cpu, text = _dry_run(wd, cfg)
        n_jobs = int(text.split("Job stats:")[1].split("total")[1].split()[0])
        n_outputs = _build_outputs(wd, cfg)
        runs = []
        for _ in range(args.repeat):
            wall, cpu, text = _dry_run(wd, cfg)
            assert "Nothing to be done" in text, f"the no-op dry run planned jobs:\n{text[-2000:]}"
            runs.append((wall, cpu))
        noop = statistics.median(w for w, _ in runs)
        noop_cpu = statistics.median(c for _, c in runs)
        # The fastest run is the least disturbed by other load on a shared machine.
        best = min(w for w, _ in runs)
        load = os.getloadavg()[0]
        print(
            f"paper DAG: {n_jobs} jobs, {n_outputs} outputs; {os.cpu_count()} CPUs, load {load:.1f}"
        )
        print(f"full-plan dry run (nothing built): {full:.2f} s wall, {full_cpu:.2f} s CPU")
        print(
            f"no-op dry run, median of {args.repeat}: {noop:.2f} s wall, {noop_cpu:.2f} s CPU"
            f" (fastest {best:.2f} s)"
        )
        print("no-op runs (s wall): " + " ".join(f"{w:.2f}" for w, _ in runs))
        print(f"ratio full-plan / no-op (wall): {full / noop:.2f}x; goal: no-op < 3 s wall")
        if load > 1:
            print("note: the machine is busy; CPU seconds are the comparable figure")
    finally:
        if args.keep:
            print(f"kept {root} (workdir {wd}, configfile {cfg})")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
