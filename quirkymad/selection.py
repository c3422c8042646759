"""Which records a MAD run uses: the roles of datasets/base.py, capped and balanced."""

from __future__ import annotations

import pandas as pd

ROLE_ORDER = ("trusted", "untrusted_alice", "untrusted_bob", "test_normal", "test_anomalous")


def mad_examples(df: pd.DataFrame, max_per_role: int) -> pd.DataFrame:
    """Records with a MAD role, the first `max_per_role` of each (spec §2.3: "each set cut to
    its first 4000"), with the test mix balanced 50/50 (n = min of the two test roles)."""
    parts = {r: df[df["role"] == r].iloc[:max_per_role] for r in ROLE_ORDER}
    n_test = min(len(parts["test_normal"]), len(parts["test_anomalous"]))
    parts["test_normal"] = parts["test_normal"].iloc[:n_test]
    parts["test_anomalous"] = parts["test_anomalous"].iloc[:n_test]
    return pd.concat(parts[r] for r in ROLE_ORDER).reset_index(drop=True)
