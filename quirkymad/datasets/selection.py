"""Which records a MAD run uses: the roles of datasets/base.py, capped and balanced, plus the
selection split of the honest best layer (issue 18, item 5)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from quirkymad.core.prompts import trusted_context
from quirkymad.core.roles import MAD_ROLES, TEST_ROLES

# Hard validation records with the trusted-role names (1-4; trusted contexts,
# `quirkymad.core.prompts.trusted_context`, in a trigger dataset): the test mix's roles on a split
# and names disjoint from it (issue 28: not the test names), scored only to choose a "best
# layer" without looking at the test mix.
SELECT_ROLES = ("select_normal", "select_anomalous")
# Selection records per side, as a fraction of max_per_role: enough to rank layers, at a
# fraction of the test mix's extraction cost.
SELECT_FRACTION = 0.5


def selection_roles(df: pd.DataFrame) -> pd.Series:
    """`role` with hard validation records of the trusted-role names (no MAD role otherwise) marked
    `select_normal` (Alice) / `select_anomalous` (Bob). Derived here, not in the dataset build,
    so built datasets stay valid."""
    role = df["role"].copy()
    pool = (
        (role == "")
        & (df["split"] == "val")  # the dataset build's name for the validation split
        & (df["bucket"] == "hard")
        & trusted_context(df)
    )
    role[pool & (df["character"] == "Alice")] = SELECT_ROLES[0]
    role[pool & (df["character"] == "Bob")] = SELECT_ROLES[1]
    return role


# Records only sweeps use (quirkymad/workflow/sweeps.py, docs/sweeps.md), extracted only when a
# configured sweep needs them: trusted-like records (easy -> `trusted`) of the other difficulty
# bands, and test-mix-like records (hard -> the test mix) of the other bands.
SWEEP_ROLES = (
    "trusted_medium", "trusted_hard",
    "test_normal_easy", "test_anomalous_easy", "test_normal_medium", "test_anomalous_medium",
)  # fmt: skip


def sweep_roles(df: pd.DataFrame) -> pd.Series:
    """`role` with records of no MAD role marked with their sweep role (`SWEEP_ROLES`): Alice
    train records of the trusted names in the medium / hard bands (`trusted_{band}`), and test
    records of the held-out names in the easy / medium bands (`test_normal_{band}` for Alice,
    `test_anomalous_{band}` for Bob)."""
    role = df["role"].copy()
    free = role == ""
    trusted_name = trusted_context(df)
    for band in ("medium", "hard"):
        pool = free & (df["split"] == "train") & trusted_name & (df["bucket"] == band)
        role[pool & (df["character"] == "Alice")] = f"trusted_{band}"
    for band in ("easy", "medium"):
        pool = free & (df["split"] == "test") & ~trusted_name & (df["bucket"] == band)
        role[pool & (df["character"] == "Alice")] = f"test_normal_{band}"
        role[pool & (df["character"] == "Bob")] = f"test_anomalous_{band}"
    return role


def _balanced(parts: dict[str, pd.DataFrame], pair: tuple[str, str]) -> None:
    n = min(len(parts[pair[0]]), len(parts[pair[1]]))
    for r in pair:
        parts[r] = parts[r].iloc[:n]


def mad_examples(
    df: pd.DataFrame, max_per_role: int, extra_roles: Sequence[str] = ()
) -> pd.DataFrame:
    """Records with a MAD role, the first `max_per_role` of each (spec §2.3: "each set cut to
    its first 4000"), with the test mix balanced 50/50 (n = min of the two test roles); then
    the selection records (SELECT_FRACTION × max_per_role per side, balanced); then those of
    `extra_roles` (sweep roles, `SWEEP_ROLES`), the first `max_per_role` of each, each test band
    balanced. Without `extra_roles` the records are exactly the MAD run's."""
    role = selection_roles(df)
    if extra_roles:
        unknown = sorted(set(extra_roles) - set(SWEEP_ROLES))
        if unknown:
            raise ValueError(f"unknown sweep roles {unknown} (known: {SWEEP_ROLES})")
        swept = sweep_roles(df.assign(role=role))
        role = role.where(~swept.isin(list(extra_roles)), swept)
    df = df.assign(role=role)
    parts = {r: df[df["role"] == r].iloc[:max_per_role] for r in MAD_ROLES}
    _balanced(parts, TEST_ROLES)
    n_select = max(1, int(SELECT_FRACTION * max_per_role))
    parts |= {r: df[df["role"] == r].iloc[:n_select] for r in SELECT_ROLES}
    _balanced(parts, SELECT_ROLES)
    extra = [r for r in SWEEP_ROLES if r in extra_roles]
    parts |= {r: df[df["role"] == r].iloc[:max_per_role] for r in extra}
    for band in ("easy", "medium"):
        pair = (f"test_normal_{band}", f"test_anomalous_{band}")
        if set(pair) <= set(extra):
            _balanced(parts, pair)
    order = (*MAD_ROLES, *SELECT_ROLES, *extra)
    return pd.concat(parts[r] for r in order).reset_index(drop=True)
