"""The MAD roles of a dataset record (assigned by `quirkymad.datasets.base`): written once,
here, and imported by the dataset build, the record selection, scoring, diagnostics, sweeps,
the planner and the rules. No imports: any module, torch-free ones included, may read it.

Records of no MAD role have role "" (`datasets.base.ROLES`); the selection split's and the
sweeps' extra roles are `quirkymad.datasets.selection`'s `SELECT_ROLES` and `SWEEP_ROLES`.
"""

from __future__ import annotations

EASY_UNTRUSTED_ROLES = ("untrusted_alice", "untrusted_bob")
"""Easy untrusted records: trusted-role names on easy questions, Alice and Bob."""
TEST_ROLES = ("test_normal", "test_anomalous")
"""The test mix: held-out names on hard questions; Alice = normal, Bob = anomalous."""
MAD_ROLES = ("trusted", *EASY_UNTRUSTED_ROLES, *TEST_ROLES)
"""Every MAD role, in the order a store holds them (`quirkymad.datasets.selection.mad_examples`)."""
