"""The selection split: hard validation records of the trusted-role names, disjoint from the test
mix in records and in names (issue 28)."""

import pandas as pd

from quirkymad.core.prompts import N_TRUSTED_NAMES
from quirkymad.datasets.selection import SELECT_FRACTION, SELECT_ROLES, mad_examples


def _df():
    rows = []
    for split in ("train", "val", "test"):
        for bucket in ("easy", "hard"):
            for name_index in (0, N_TRUSTED_NAMES + 1):
                for character in ("Alice", "Bob"):
                    for k in range(30):
                        role = ""
                        if split == "test" and bucket == "hard" and name_index >= N_TRUSTED_NAMES:
                            role = "test_normal" if character == "Alice" else "test_anomalous"
                        rows.append({"id": f"{split}{bucket}{name_index}{character}{k}",
                                     "split": split, "bucket": bucket, "name_index": name_index,
                                     "character": character, "role": role})  # fmt: skip
    return pd.DataFrame(rows)


def test_selection_records_are_hard_validation_trusted_role_names_and_balanced():
    out = mad_examples(_df(), max_per_role=40)
    sel = out[out["role"].isin(SELECT_ROLES)]
    assert (sel["split"] == "val").all() and (sel["bucket"] == "hard").all()
    assert (sel["name_index"] < N_TRUSTED_NAMES).all()  # never a test name
    counts = sel["role"].value_counts()
    assert counts["select_normal"] == counts["select_anomalous"] == int(SELECT_FRACTION * 40)
    assert set(sel.loc[sel["role"] == "select_anomalous", "character"]) == {"Bob"}
    test_ids = set(out.loc[out["role"].str.startswith("test"), "id"])
    assert test_ids and not test_ids & set(sel["id"])
    assert list(out["role"].drop_duplicates())[-2:] == list(SELECT_ROLES)  # appended last


def test_a_built_dataset_yields_selection_records(addition_parquet):
    # The split names of a real build (not a hand-made frame) must match the selection's.
    out = mad_examples(pd.read_parquet(addition_parquet), max_per_role=40)
    counts = out["role"].value_counts()
    assert counts.get("select_normal", 0) == counts.get("select_anomalous", 0) > 0
