"""What a finished run found and where to look (issue 28, item 7): printed by the Snakefile's
`onsuccess:` handler, so a newcomer learns whether the run worked without opening a file.

Per fine-tune: quirky or not (the acceptance rule of quirkymad/finetune/acceptance.py, with its
validation a, b, and the test mix's a, b); the headline AUROCs (activations × Mahalanobis,
layer-aggregated, with the name-clustered interval, `p_chance` and whatever control columns the
run has: within-gender AUROCs, the gender-only score, `p_chance_gender`, the base-model
negative control); the figures, tables and the
`--report` command. Reads only what exists (a partial target leaves tables out) and never
raises: a summary must not fail a run that succeeded. Torch-free.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd

HEADLINE = {"feature": "activations", "transform": "none", "detector": "mahalanobis"}
# The controls table's columns (quirkymad/stats/controls.py, docs/statistics.md) shown beside
# a headline AUROC: within-gender AUROCs, the gender-only score, the gender-stratified null and
# the base-model negative control.
CONTROL_COLUMNS = ("auroc_male", "auroc_female", "auroc_gender_only", "p_chance_gender",
                   "auroc_base")  # fmt: skip
KEY = ("model", "dataset", "seed")
# What identifies a scoring job in both the AUROC and the controls table.
JOB_KEY = ("model", "dataset", "seed", "setting", "feature", "transform", "detector")


def _read(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception:  # missing, partial or unreadable: the summary says what exists
        return None


def _label(row) -> str:
    seed = f" seed {row['seed']}" if "seed" in row and pd.notna(row["seed"]) else ""
    return f"{row.get('model', '?')} / {row.get('dataset', '?')}{seed}"


def _num(x, digits: int = 2) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{float(x):.{digits}f}"


def quirkiness_lines(q: pd.DataFrame | None) -> list[str]:
    """One line per fine-tune of the quirkiness table: the flag, validation and test a, b."""
    if q is None or q.empty:
        return ["  quirkiness: no table yet (results/tables/quirkiness.csv)"]
    lines = ["  quirky? (a >= 1 and b >= 1 nats on hard disagreeing validation prompts)"]
    for _, r in q.iterrows():
        flag = r.get("quirky")
        word = "unknown" if flag is None or pd.isna(flag) else ("yes" if flag else "NOT QUIRKY")
        val = f"validation a = {_num(r.get('a_alice_val'))}, b = {_num(r.get('b_bob_val'))}"
        test = f"test mix a = {_num(r.get('a_alice'))}, b = {_num(r.get('b_bob'))}"
        lines.append(f"    {_label(r)}: {word} ({val}; {test})")
    return lines


def _controls(r: pd.Series) -> str:
    return "".join(f", {c} {_num(r[c], 3)}" for c in CONTROL_COLUMNS if pd.notna(r.get(c)))


def with_controls(auroc: pd.DataFrame, controls: pd.DataFrame | None) -> pd.DataFrame:
    """The AUROC rows with the controls table's columns joined on the scoring job."""
    if controls is None or controls.empty:
        return auroc
    on = [k for k in JOB_KEY if k in auroc and k in controls]
    cols = [c for c in CONTROL_COLUMNS if c in controls and c not in auroc]
    return auroc.merge(controls[on + cols].drop_duplicates(on), on=on, how="left")


def headline_lines(auroc: pd.DataFrame | None, controls: pd.DataFrame | None = None) -> list[str]:
    """The headline AUROC of every fine-tune: activations × Mahalanobis over the read layers,
    with its controls where the run has them."""
    what = "activations x mahalanobis, layer-aggregated, 95 % name-clustered CI"
    if auroc is None or auroc.empty or "layer" not in auroc:
        return [f"  headline AUROC ({what}): no table yet (results/tables/auroc.csv)"]
    sel = auroc["layer"].astype(str).eq("all")
    for k, v in HEADLINE.items():
        sel &= auroc[k].eq(v) if k in auroc else False
    if "combination" in auroc:
        sel &= auroc["combination"].isin(["mean", "none"])
    rows = with_controls(auroc[sel], controls)
    if rows.empty:
        return [f"  headline AUROC ({what}): not scored in this run"]
    lines = [f"  headline AUROC ({what}):"]
    for _, r in rows.iterrows():
        ci = f"[{_num(r.get('ci_low_name'), 3)}, {_num(r.get('ci_high_name'), 3)}]"
        quirky = "" if pd.isna(r.get("quirky", True)) or r.get("quirky", True) else " (not quirky)"
        lines.append(f"    {_label(r)}: {r['auroc']:.3f} {ci}, p_chance "
                     f"{r.get('p_chance', float('nan')):.3f}{_controls(r)}{quirky}")  # fmt: skip
    return lines


def _paths(folder: Path, pattern: str) -> str:
    names = sorted(p.name for p in folder.glob(pattern))
    return f"{folder}/: " + (", ".join(names) if names else "none yet")


def report_command(configfiles: Sequence[str | Path] = ()) -> str:
    files = f" --configfile {' '.join(map(str, configfiles))}" if configfiles else ""
    return f".venv/bin/snakemake{files} --report results/report.html"


def run_summary(results: str | Path = "results", configfiles: Sequence[str | Path] = ()) -> str:
    """The summary text of the run whose outputs are under `results`."""
    tables = Path(results) / "tables"
    lines = ["", "quirkymad: what this run found (results/tables/, docs/figures.md)"]
    lines += quirkiness_lines(_read(tables / "quirkiness.parquet"))
    lines += headline_lines(_read(tables / "auroc.parquet"), _read(tables / "controls.parquet"))
    lines += [f"  figures: {_paths(Path(results) / 'figures', '*.png')}",
              f"  tables: {_paths(tables, '*.csv')}",
              f"  report: {report_command(configfiles)}", ""]  # fmt: skip
    return "\n".join(lines)


def print_run_summary(
    results: str | Path = "results",
    configfiles: Sequence[str | Path] = (),
    out: TextIO | None = None,
) -> None:
    """Print `run_summary`; any error becomes one line (the run itself succeeded)."""
    out = out or sys.stdout
    try:
        text = run_summary(results, configfiles)
    except Exception as exc:  # noqa: BLE001 - never fail a finished run over its summary
        text = f"quirkymad: no run summary ({type(exc).__name__}: {exc})"
    print(text, file=out, flush=True)
