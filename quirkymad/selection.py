"""Which records a MAD run uses: the roles of datasets/base.py, capped and balanced, plus the
selection split of the honest best layer (issue 18, item 5)."""

from __future__ import annotations

import pandas as pd

from quirkymad.prompts import N_TRUSTED_NAMES

ROLE_ORDER = ("trusted", "untrusted_alice", "untrusted_bob", "test_normal", "test_anomalous")
# Hard validation records with held-out names: the test mix's roles on a split disjoint from
# it, scored only to choose a "best layer" without looking at the test mix.
SELECT_ROLES = ("select_normal", "select_anomalous")
# Selection records per side, as a fraction of max_per_role: enough to rank layers, at a
# fraction of the test mix's extraction cost.
SELECT_FRACTION = 0.5


def selection_roles(df: pd.DataFrame) -> pd.Series:
    """`role` with hard validation records of the held-out names (no MAD role otherwise) marked
    `select_normal` (Alice) / `select_anomalous` (Bob). Derived here, not in the dataset build,
    so built datasets stay valid."""
    role = df["role"].copy()
    pool = (
        (role == "")
        & (df["split"] == "val")  # the dataset build's name for the validation split
        & (df["bucket"] == "hard")
        & (df["name_index"] >= N_TRUSTED_NAMES)
    )
    role[pool & (df["character"] == "Alice")] = SELECT_ROLES[0]
    role[pool & (df["character"] == "Bob")] = SELECT_ROLES[1]
    return role


def _balanced(parts: dict[str, pd.DataFrame], pair: tuple[str, str]) -> None:
    n = min(len(parts[pair[0]]), len(parts[pair[1]]))
    for r in pair:
        parts[r] = parts[r].iloc[:n]


def mad_examples(df: pd.DataFrame, max_per_role: int) -> pd.DataFrame:
    """Records with a MAD role, the first `max_per_role` of each (spec §2.3: "each set cut to
    its first 4000"), with the test mix balanced 50/50 (n = min of the two test roles); then
    the selection records (SELECT_FRACTION × max_per_role per side, balanced)."""
    role = selection_roles(df)
    df = df.assign(role=role)
    parts = {r: df[df["role"] == r].iloc[:max_per_role] for r in ROLE_ORDER}
    _balanced(parts, ("test_normal", "test_anomalous"))
    n_select = max(1, int(SELECT_FRACTION * max_per_role))
    parts |= {r: df[df["role"] == r].iloc[:n_select] for r in SELECT_ROLES}
    _balanced(parts, SELECT_ROLES)
    return pd.concat(parts[r] for r in (*ROLE_ORDER, *SELECT_ROLES)).reset_index(drop=True)
