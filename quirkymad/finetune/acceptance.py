"""Is a fine-tune quirky? The acceptance rule (issue 28), written once, and the `quirky` flag it
puts on the adapter, the quirkiness table, the AUROC tables and the AUROC figures.

The rule, fixed before looking at any result: the kept adapter is **quirky** when a >= 1 and
b >= 1 (nats), where a, b are the mean own-label log-odds of Alice / Bob on the fine-tune's
quirk-evaluation records (hard, disagreeing **validation** records with the trusted-role
names, never the test names: `quirkymad.finetune.records.quirk_eval_records`), measured at the
kept evaluation (docs/quirky_recipe.md). An untrained adapter (step 0) is never quirky.
It lives with the fine-tune, which computes it and stores it with the adapter; the
diagnostics stage and the AUROC collection read it from here (issue 29: no stage imports a
later one). Torch-free: the collection steps and the run summary read it.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

QUIRKY_MIN_LOG_ODDS = 1.0
"""a and b must both reach this many nats (spec §7's "quirky": own answer at >= e:1 odds)."""

ADAPTER_SUMMARY = "quirkymad.json"
FLAG_COLUMNS = ("a_alice_val", "b_bob_val", "kept_step", "quirky")


def is_quirky(a: float | None, b: float | None) -> bool | None:
    """The rule: a >= 1 and b >= 1; None when either was not measured (no quirk evaluation)."""
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return None
    return bool(a >= QUIRKY_MIN_LOG_ODDS and b >= QUIRKY_MIN_LOG_ODDS)


def acceptance(summary: dict[str, Any]) -> dict[str, Any]:
    """The flag of a fine-tune from its summary (`quirkymad.finetune.finetune`'s: kept step and
    its a, b): {a_alice_val, b_bob_val, kept_step, quirky}. The untrained adapter (kept step
    0) is flagged not quirky whatever its a, b."""
    a, b, step = summary.get("best_a_alice"), summary.get("best_b_bob"), summary.get("best_step")
    quirky = False if step == 0 else is_quirky(a, b)
    return {"a_alice_val": a, "b_bob_val": b, "kept_step": step, "quirky": quirky}


def warning(acc: dict[str, Any], where: str = "") -> str | None:
    """One loud line when a fine-tune is not (known to be) quirky, else None."""
    at = f" ({where})" if where else ""
    if acc["kept_step"] == 0:
        return (f"WARNING quirkymad: fine-tuning never became quirky{at}: no evaluation after "
                "step 0 was kept, so the adapter is the UNTRAINED one; quirky = false in the "
                "tables and figures")  # fmt: skip
    if acc["quirky"] is None:
        return (f"WARNING quirkymad: quirkiness not checked{at} (finetune.quirk_eval_examples:"
                " 0); quirky = unknown in the tables")  # fmt: skip
    if not acc["quirky"]:
        return (f"WARNING quirkymad: the kept adapter is NOT quirky{at}: a = "
                f"{acc['a_alice_val']:.2f}, b = {acc['b_bob_val']:.2f} on validation (rule: both"
                f" >= {QUIRKY_MIN_LOG_ODDS:g}); quirky = false in the tables and figures")  # fmt: skip
    return None


def warn(acc: dict[str, Any], where: str = "") -> None:
    """Print `warning` to stderr (the job log) and, when that is redirected, to the terminal."""
    line = warning(acc, where)
    if line is None:
        return
    print(line, file=sys.stderr, flush=True)
    if sys.__stderr__ is not None and sys.stderr is not sys.__stderr__:
        print(line, file=sys.__stderr__, flush=True)


def read_acceptance(adapter_dir: str | Path) -> dict[str, Any]:
    """The flag stored with an adapter (`quirkymad.json`'s `acceptance`), recomputed from its
    summary for adapters written before the flag existed."""
    summary = json.loads((Path(adapter_dir) / ADAPTER_SUMMARY).read_text())
    return summary.get("acceptance") or acceptance(summary)


def quirky_flags(adapters: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per fine-tune: `adapters` = [{model, dataset, seed, adapter (its directory)}]
    -> columns model, dataset, seed and `FLAG_COLUMNS`."""
    rows = [{"model": j["model"], "dataset": j["dataset"], "seed": int(j["seed"]),
             **read_acceptance(j["adapter"])} for j in adapters]  # fmt: skip
    out = pd.DataFrame(rows, columns=["model", "dataset", "seed", *FLAG_COLUMNS])
    out["quirky"] = out["quirky"].astype("boolean")  # nullable: unknown = <NA>
    return out


def with_quirky(df: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """`df` (rows labelled model, dataset, seed) with the `quirky` column of its fine-tune
    (replacing one already there); rows of no listed fine-tune get <NA>."""
    df = df.drop(columns=[c for c in ("quirky",) if c in df])
    key = [k for k in ("model", "dataset", "seed") if k in df]
    if df.empty or not key:
        return df.assign(quirky=pd.array([pd.NA] * len(df), dtype="boolean"))
    right = flags[[*key, "quirky"]].drop_duplicates(key)
    out = df.merge(right.astype({"seed": df["seed"].dtype}) if "seed" in key else right,
                   on=key, how="left")  # fmt: skip
    out["quirky"] = out["quirky"].astype("boolean")
    return out


def collect_flagged(
    paths: Sequence[str | Path],
    out_parquet: str | Path,
    out_csv: str | Path | None = None,
    adapters: Sequence[dict[str, Any]] = (),
) -> pd.DataFrame:
    """`quirkymad.core.tables.concat_tables` of `paths`, with the `quirky` column of each row's
    fine-tune joined in (when `adapters` are given): the AUROC collection steps."""
    from quirkymad.core.tables import read_table, write_table

    df = pd.concat([read_table(p) for p in paths], ignore_index=True)
    if adapters:
        df = with_quirky(df, quirky_flags(adapters))
    return write_table(df, out_parquet, out_csv)
