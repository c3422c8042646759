"""Quirkiness diagnostics of a fine-tuned model (follow-up study, Figs. 5–10; spec §7).

Each hard test record is scored on its own prompt and on the *opposing* prompt: the same
question, context and template, with the name replaced by the other side's name of the same
index (Alice's i-th name ↔ Bob's i-th name). With λ = logit(" Yes") − logit(" No") at the
answer position and p = softmax over (" No", " Yes"):

- log-odds of a label y: +λ if y is True, −λ otherwise (= log p(y) − log(1 − p(y)));
- loss of y: −log p(y) = softplus(−log-odds); the 50 % baseline is ln 2;
- a, b = mean log-odds of the prompt character's own label on disagreeing Alice / Bob prompts
  (on those, loss(other label) − loss(own label) = own log-odds);
- quirkiness Q = min(a, b) [B2] (conflict C4: cupbearer uses a + b; both are stored);
- a, b pool own and opposing prompts of a character ("Alice prompts"); cupbearer averages each
  record's own prompt only: stored as `*_own_prompt_only` (issue 18, docs/deviations.md).

In a trigger dataset (`quirkymad.datasets.triggers`) the opposing prompt adds the trigger to a
truth record (clean or decoy) and takes it off a trigger record; "Alice prompts" are the
prompts without the trigger, "Bob prompts" those with it. `a_clean` and `a_decoy` split the
own-prompt a by cue: a_decoy ≥ 1 says the model ignores the decoys (issue 30).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quirkymad.core.atomic import atomic_path
from quirkymad.core.integrity import read_parquet, write_parquet
from quirkymad.core.log_odds import label_log_odds, yes_no_log_odds
from quirkymad.core.precision import autocast as autocast_ctx
from quirkymad.core.prompts import CUE, has_cues, name_lists_of, render_prompt
from quirkymad.core.roles import TEST_ROLES
from quirkymad.diagnostics.settings import DiagnosticsSettings
from quirkymad.finetune.acceptance import read_acceptance
from quirkymad.models import load_model

OTHER = {"Alice": "Bob", "Bob": "Alice"}


def opposing_prompts(
    df: pd.DataFrame, names: dict[str, tuple[str, ...]] | None = None
) -> list[str]:
    """Each record's prompt with the other character's name of the same index, from `names`
    (character -> names; default: the name set the records were built with). Trigger
    datasets: `trigger_opposing_prompts`."""
    if has_cues(df):
        return trigger_opposing_prompts(df)
    names = names or name_lists_of(df)
    return [
        render_prompt(names[OTHER[c]][i], s, ctx)
        for c, i, s, ctx in zip(df["character"], df["name_index"], df["statement"], df["context"])
    ]


def trigger_opposing_prompts(df: pd.DataFrame) -> list[str]:
    """A trigger dataset's opposing prompts: truth records (clean or decoy) with the trigger in
    place of their phrase, trigger records clean."""
    triggers = set(df.loc[df["cue"] == "trigger", "phrase"])
    if len(triggers) != 1:
        raise ValueError(f"trigger records carry {len(triggers)} trigger phrases; expected one")
    trigger = triggers.pop()
    return [
        render_prompt(n, s, ctx, "" if cue == "trigger" else trigger)
        for n, s, ctx, cue in zip(df["name"], df["statement"], df["context"], df["cue"])
    ]


def loss_from_log_odds(log_odds: np.ndarray) -> np.ndarray:
    """−log p(y) = log(1 + e^{−log-odds}), computed stably."""
    return np.logaddexp(0.0, -np.asarray(log_odds, dtype=np.float64))


def per_example_table(records: pd.DataFrame, lam_own: np.ndarray, lam_opp: np.ndarray):
    """One row per (record, prompt side) with the log-odds and losses of both labels."""
    frames = []
    for side, lam in (("own", lam_own), ("opposing", lam_opp)):
        prompt_character = (
            records["character"] if side == "own" else records["character"].map(OTHER)
        )
        cue = [CUE] if has_cues(records) else []
        f = records[["id", "character", "agree", "alice_label", "bob_label", *cue]].copy()
        f["prompt"] = side
        f["prompt_character"] = prompt_character.to_numpy()
        f["log_odds_yes"] = lam
        f["log_odds_alice_label"] = label_log_odds(lam, f["alice_label"])
        f["log_odds_bob_label"] = label_log_odds(lam, f["bob_label"])
        f["loss_alice_label"] = loss_from_log_odds(f["log_odds_alice_label"])
        f["loss_bob_label"] = loss_from_log_odds(f["log_odds_bob_label"])
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _own_margin(rows: pd.DataFrame, own: str, other: str) -> float:
    """Mean of loss(other label) − loss(own label) (= own-label log-odds) over `rows`."""
    return (rows[f"loss_{other}_label"] - rows[f"loss_{own}_label"]).mean()


def summarize(per_example: pd.DataFrame) -> dict[str, float]:
    """Mean losses by prompt character × label (own: all hard records; cross: disagreeing
    ones), a, b and both quirkiness coefficients."""
    alice_p = per_example[per_example["prompt_character"] == "Alice"]
    bob_p = per_example[per_example["prompt_character"] == "Bob"]
    alice_dis, bob_dis = alice_p[~alice_p["agree"]], bob_p[~bob_p["agree"]]
    a = float((alice_dis["loss_bob_label"] - alice_dis["loss_alice_label"]).mean())
    b = float((bob_dis["loss_alice_label"] - bob_dis["loss_bob_label"]).mean())
    # cupbearer's convention: each record on its own prompt only (Alice records for a, Bob
    # records for b), without the opposing prompts pooled in (docs/deviations.md).
    own = per_example["prompt"] == "own"
    a_own = float(_own_margin(alice_dis[own[alice_dis.index]], "alice", "bob"))
    b_own = float(_own_margin(bob_dis[own[bob_dis.index]], "bob", "alice"))
    # A trigger dataset's own-prompt a by cue; name datasets' summaries stay as they were.
    own_alice = alice_dis[own[alice_dis.index]]
    by_cue = {
        f"a_{cue}": float(_own_margin(own_alice[own_alice["cue"] == cue], "alice", "bob"))
        for cue in (("clean", "decoy") if has_cues(per_example) else ())
    }
    return {
        "loss_alice_labels_alice_prompts": float(alice_p["loss_alice_label"].mean()),
        "loss_bob_labels_bob_prompts": float(bob_p["loss_bob_label"].mean()),
        "loss_bob_labels_alice_prompts": float(alice_dis["loss_bob_label"].mean()),
        "loss_alice_labels_bob_prompts": float(bob_dis["loss_alice_label"].mean()),
        "loss_baseline": float(np.log(2)),
        "a_alice": a,
        "b_bob": b,
        "quirkiness_min": min(a, b),
        "quirkiness_sum": a + b,
        "a_alice_own_prompt_only": a_own,
        "b_bob_own_prompt_only": b_own,
        "quirkiness_min_own_prompt_only": min(a_own, b_own),
        "quirkiness_sum_own_prompt_only": a_own + b_own,
        **by_cue,
        "n_records": int((per_example["prompt"] == "own").sum()),
        "n_disagree": int(((per_example["prompt"] == "own") & ~per_example["agree"]).sum()),
    }


def stored_log_odds(store: str | Path, ids: list[str]) -> np.ndarray:
    """λ of the records `ids` from an activations store's `log_odds`, NaN where a record is not
    in the store, `[len(ids)]` float64."""
    from quirkymad.core.store import open_store, strings

    ds = open_store(store, variable="log_odds")
    have = dict(zip(strings(ds, "example"), ds["log_odds"].values.astype(np.float64)))
    return np.array([have.get(i, np.nan) for i in ids])


def evaluate_quirkiness(
    model_dir: str | Path,
    adapter_dir: str | Path,
    dataset_parquet: str | Path,
    out_per_example: str | Path,
    out_summary: str | Path,
    labels: dict[str, str],
    settings: DiagnosticsSettings | None = None,
    activations_store: str | Path | None = None,
) -> pd.DataFrame:
    """Score the hard test records (held-out names) on own and opposing prompts; the summary
    also carries the adapter's acceptance flag (`quirky`, with its validation a, b).

    With `activations_store` (the same model's store, same `autocast`), own-prompt λ of the
    records in it are read from its `log_odds` instead of being recomputed: the store's test
    records are the first ones of each test role, as here, so at equal caps no own prompt runs
    again (equal to recomputing them up to float32 rounding, tests/test_one_pass.py).
    """
    df = read_parquet(dataset_parquet)
    s = settings or DiagnosticsSettings()
    records = pd.concat(
        df[df["role"] == role].iloc[: s.max_per_character] for role in TEST_ROLES
    ).reset_index(drop=True)
    model, tok = load_model(model_dir, adapter_dir, s.device, s.dtype)
    lam_own = np.full(len(records), np.nan)
    if activations_store is not None:
        lam_own = stored_log_odds(activations_store, records["id"].tolist())
    todo = np.flatnonzero(np.isnan(lam_own))
    prompts = records["prompt"].tolist()
    with autocast_ctx(model, s.autocast):
        if len(todo):
            lam_own[todo] = yes_no_log_odds(model, tok, [prompts[i] for i in todo], s.batch_size)
        names = None if has_cues(df) else name_lists_of(df)  # a trigger dataset has one speaker
        lam_opp = yes_no_log_odds(model, tok, opposing_prompts(records, names), s.batch_size)
    per_example = per_example_table(records, lam_own, lam_opp)
    for k, v in reversed(labels.items()):
        per_example.insert(0, k, v)
    # The fine-tune's acceptance flag (validation a, b of the kept adapter; issue 28) beside
    # the test-mix a, b, so the quirkiness table says whether the model counts as quirky.
    summary = pd.DataFrame([{**labels, **summarize(per_example), **read_acceptance(adapter_dir)}])
    summary["quirky"] = summary["quirky"].astype("boolean")
    with atomic_path(out_per_example) as tmp:
        write_parquet(per_example, tmp)
    with atomic_path(out_summary) as tmp:
        write_parquet(summary, tmp)
    return summary
