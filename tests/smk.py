"""Running the workflow from tests: always under `timeout -k`, so a hung Snakemake fails the
test instead of eating CI's time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(workdir: Path, configfile: Path, *args: str, timeout: int = 1800, repo: Path = REPO):
    """Run the Snakefile of `repo` (this one by default) in `workdir`; returns the
    CompletedProcess (text)."""
    cmd = [
        "timeout", "-k", "20", str(timeout), SNAKEMAKE,
        "--snakefile", str(repo / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(configfile), *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)


def finished_run(tmp_path_factory, name: str, file: str, config: dict) -> tuple[Path, Path]:
    """A fresh working directory `name` in which `config`, written to `file` there, has run
    to the end on 2 cores: (the directory, the config file). For module-scoped fixtures."""
    wd = tmp_path_factory.mktemp(name)
    cfg = write_config(wd / file, config)
    out = snakemake(wd, cfg, "--cores", "2")
    assert out.returncode == 0, out.stderr[-5000:]
    return wd, cfg


def _dry_run(workdir: Path, configfile: Path, *args: str) -> str:
    out = snakemake(workdir, configfile, "-n", *args, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout + out.stderr


def _job_counts(text: str) -> dict[str, int]:
    if "Nothing to be done" in text:
        return {}
    stats = text.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M)}


def planned_jobs(workdir: Path, configfile: Path, *args: str) -> dict[str, int]:
    """Jobs a dry run would execute, by rule (empty dict = nothing to do)."""
    return _job_counts(_dry_run(workdir, configfile, *args))


def planned_outputs(workdir: Path, configfile: Path, *args: str) -> list[tuple[str, set[str]]]:
    """Jobs a dry run would execute: (rule, its outputs) each; `all` has none."""
    jobs: list[tuple[str, set[str]]] = []
    for line in _dry_run(workdir, configfile, *args).splitlines():
        if head := re.fullmatch(r"\s*(?:local)?rule (\w+):", line):
            jobs.append((head[1], set()))
        elif (out := re.fullmatch(r"\s*output: (.*)", line)) and jobs:
            jobs[-1][1].update(out[1].split(", "))
    return jobs


def planned_jobs_and_figures(
    workdir: Path, configfile: Path, *args: str
) -> tuple[dict[str, int], set[str]]:
    """`planned_jobs`, and the names of the figures whose `plot_figure` job would run."""
    text = _dry_run(workdir, configfile, *args)
    figures = set(re.findall(r"^\s*output: results/figures/(\w+)\.png", text, re.M))
    return _job_counts(text), figures
