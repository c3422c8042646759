"""The paper run, rehearsed on the tiny model: `config/paper.yaml` with only the model and the
sizes replaced, run end to end into its own working directory (issue 31, docs/rehearsal.md).

    .venv/bin/python -m quirkymad.rehearsal --cores 2 [--keep-going] [--workdir rehearsal]

Which keys are sizes is the schema's to say, not this module's: every property of
`config/schema.yaml` marked `x-rehearsal: VALUE` (directly or through its `$ref`) is set to
VALUE wherever the config has the object that holds it (the sizes, and `device` and the model
dtypes: where and at what precision the model runs go with the model, so `auto`); everything
else of `paper.yaml` is kept as it is. So a new key in `paper.yaml` is rehearsed unchanged, and a new size key needs only its
mark in the schema. Torch-free (it plans and runs Snakemake in a subprocess).
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from quirkymad.workflow.config import SCHEMA, _resolve

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "config" / "paper.yaml"
MARK = "x-rehearsal"
# The paper's models replaced by one tiny random Llama as deep as the deepest paper model (32
# blocks), so paper.yaml's explicit layer list (1..31, both layer indexings) stays valid as is.
REHEARSAL_MODELS: dict[str, dict[str, Any]] = {"tiny-random": {"n_layers": 32, "d_model": 64}}


def _properties(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The (resolved) `properties` of an object node, {} for anything else."""
    return _resolve(schema, node).get("properties", {}) if isinstance(node, dict) else {}


def _shrink(config: dict[str, Any], node: dict[str, Any], schema: dict[str, Any], path: str):
    """Set every marked property of `node` on `config` (in place), recursing into the config's
    sub-objects; returns the key paths set."""
    changed = []
    for key, sub in _properties(schema, node).items():
        resolved = _resolve(schema, sub) if isinstance(sub, dict) else {}
        if MARK in resolved:
            config[key] = copy.deepcopy(resolved[MARK])
            changed.append(f"{path}{key}")
        elif isinstance(config.get(key), dict):
            changed += _shrink(config[key], sub, schema, f"{path}{key}.")
    return changed


def raw_schema() -> dict[str, Any]:
    """config/schema.yaml as written: the loaded one (`load_schema`) also carries the settings
    dataclasses' defaults as `properties` of `$ref` nodes, which would hide the marks of what
    they refer to."""
    return yaml.safe_load(SCHEMA.read_text())


def derive_config(
    paper: dict[str, Any], schema: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """(rehearsal config, the key paths it replaced): `paper` with `models` replaced by
    `REHEARSAL_MODELS` and every schema-marked key (the sizes; `device` and the dtypes, which go
    with the model) set to its `x-rehearsal` value."""
    schema = schema or raw_schema()
    config = copy.deepcopy(paper)
    config["models"] = copy.deepcopy(REHEARSAL_MODELS)
    changed = ["models", *_shrink(config, schema, schema, "")]
    return config, changed


def write_config(workdir: Path, paper: Path = PAPER) -> Path:
    """Derive the rehearsal config from `paper` into `workdir/rehearsal.yaml`."""
    config, _ = derive_config(yaml.safe_load(paper.read_text()))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "rehearsal.yaml"
    header = f"# Derived from {paper.name} by quirkymad.rehearsal: do not edit.\n"
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake_command(workdir: Path, configfile: Path, cores: int, *extra: str) -> list[str]:
    """The Snakemake call of a rehearsal: this repo's Snakefile, run in `workdir`."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    return [
        snakemake, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(configfile), "--cores", str(cores), *extra,
    ]  # fmt: skip


def failed_jobs(log: str) -> list[str]:
    """The jobs a Snakemake log says failed ("Error in rule R:"), each as its rule and what
    tells it from the rule's other jobs (its `wildcards:`, else its `log:` file without
    Snakemake's note, else its first output), in order, without repeats."""
    failed = []
    for m in re.finditer(r"Error in rule (\w+):\n((?:[ \t]+.*\n?)*)", log):
        found = (
            re.search(p, m[2]) for p in (r"wildcards: (.*)", r"log: (\S+)", r"output: ([^,\s]+)")
        )
        which = next((f[1] for f in found if f), None)
        name = m[1] + (f" ({which})" if which else "")
        if name not in failed:
            failed.append(name)
    return failed


def rehearse(
    workdir: Path, cores: int, keep_going: bool, dry_run: bool = False, more: Sequence[str] = ()
) -> int:
    """Run the rehearsal (`more`: further Snakemake arguments, e.g. `--prioritize TARGET`); 0
    when every job succeeded, else 1 with the failed jobs named on stderr. Snakemake's output
    goes to `workdir/rehearsal.log` and to stdout."""
    configfile = write_config(workdir)
    extra = [*(["--keep-going"] if keep_going else []), *(["-n"] if dry_run else []), *more]
    cmd = snakemake_command(workdir, configfile, cores, *extra)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    start = time.monotonic()
    log_path = workdir / "rehearsal.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env, cwd=workdir)  # fmt: skip
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        rc = proc.wait()
    text = log_path.read_text()
    failed = failed_jobs(text)
    total = re.findall(r"^total\s+(\d+)", text, re.M)
    minutes = (time.monotonic() - start) / 60
    summary = f"rehearsal: {total[0] if total else '?'} jobs planned, {minutes:.1f} min"
    if rc == 0 and not failed:
        print(f"{summary}: every job succeeded", file=sys.stderr)
        return 0
    print(f"{summary}: FAILED (snakemake exit {rc}); failed jobs: "
          f"{', '.join(failed) or 'none named, see ' + str(log_path)}", file=sys.stderr)  # fmt: skip
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quirkymad.rehearsal", description=__doc__)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep-going", action="store_true", help="run every job that can run")
    parser.add_argument("--workdir", default=str(REPO / "rehearsal"),
                        help="where results/, logs/ go (default: rehearsal/)")  # fmt: skip
    parser.add_argument("-n", "--dry-run", action="store_true", help="plan only")
    parser.add_argument("snakemake_args", nargs="*",
                        help="after --: passed to Snakemake (e.g. -- --prioritize TARGET)")  # fmt: skip
    args = parser.parse_args(argv)
    return rehearse(Path(args.workdir).resolve(), args.cores, args.keep_going, args.dry_run,
                    args.snakemake_args)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
