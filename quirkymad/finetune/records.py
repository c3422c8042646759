"""Which training, validation and quirk-evaluation records a fine-tune sees, and in what order.

Pure functions of the dataset table and the settings (numpy only, no torch): the paper's
balanced records, or the CPU recipe's (Alice, Bob) pairs (docs/quirky_recipe.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quirkymad.core.prompts import record_prompts, trusted_context
from quirkymad.finetune.settings import FinetuneSettings


def select_balanced(df: pd.DataFrame, split: str, cap: int | None, seed: int) -> pd.DataFrame:
    """Records of `split`, both characters, each character's labels balanced by undersampling
    the majority label (seed), then shuffled and cut to `cap`."""
    rng = np.random.default_rng(seed)
    parts = []
    for _, group in df[df["split"] == split].groupby("character"):
        n = group["label"].value_counts().min() if group["label"].nunique() == 2 else 0
        for _, lab in group.groupby("label"):
            parts.append(lab.iloc[np.sort(rng.choice(len(lab), size=n, replace=False))])
    out = pd.concat(parts) if parts else df.iloc[:0]
    out = out.iloc[rng.permutation(len(out))]
    return out.iloc[:cap] if cap else out


def select_pairs(
    df: pd.DataFrame,
    split: str,
    cap: int | None,
    seed: int,
    only_disagreeing: bool = False,
    alice_true_only: bool = False,
    balanced: bool = True,
) -> pd.DataFrame:
    """Records of `split` as (Alice, Bob) pairs of the same base question: rows 2i and 2i + 1
    are question i's Alice and Bob records, rendered with one template (so their prompts
    differ only in the name). Pairs are balanced by undersampling so that each
    character's labels are 50/50: as many (Alice True, Bob False) as (False, True) pairs and
    as many (True, True) as (False, False) pairs (the only balanced mix of paired records).
    With `balanced` False every pair of the kinds kept is used, at the data's own mix.
    With `only_disagreeing` the agreeing pairs are dropped; with `alice_true_only` only the
    (Alice True, Bob False) pairs are kept, unbalanced (the name-warm-up curriculum). Pairs are shuffled (seed) and cut
    to `cap` records (`cap` // 2 pairs)."""
    rng = np.random.default_rng(seed)
    part = df[df["split"] == split]
    alice = part[part["character"] == "Alice"].set_index("base_id")
    bob = part[part["character"] == "Bob"].set_index("base_id")
    common = alice.index.intersection(bob.index)
    alice, bob = alice.loc[common], bob.loc[common]
    combo = pd.Series(list(zip(alice["label"], bob["label"])), index=common)
    kinds = [((True, False), (False, True))]
    if not only_disagreeing:
        kinds.append(((True, True), (False, False)))
    keep = []
    if alice_true_only:
        kinds, keep = [], [common[combo == (True, False)]]
    for kind_a, kind_b in kinds:
        ids_a, ids_b = common[combo == kind_a], common[combo == kind_b]
        n = min(len(ids_a), len(ids_b))
        for ids in (ids_a, ids_b):
            m = n if balanced else len(ids)
            keep.append(ids[np.sort(rng.choice(len(ids), size=m, replace=False))])
    ids = np.concatenate(keep) if keep else np.array([], dtype=np.int64)
    ids = ids[rng.permutation(len(ids))]
    if cap:
        ids = ids[: cap // 2]
    rows = np.stack([alice.loc[ids, "id"].to_numpy(), bob.loc[ids, "id"].to_numpy()], axis=1)
    out = df.set_index("id").loc[rows.ravel()].reset_index()[df.columns]
    # The two records drew their templates independently; both members of a pair take one of
    # them (Alice's or Bob's, seeded coin), so the name is all that differs within a pair.
    src = 2 * np.arange(len(ids)) + rng.integers(0, 2, size=len(ids))
    src = np.repeat(src, 2)
    for col in ("template_id", "statement", "context"):
        out[col] = out[col].to_numpy()[src]
    # Each record keeps its own name and, in a trigger dataset, its own phrase.
    out["prompt"] = record_prompts(out)
    return out


def select_training(df: pd.DataFrame, settings: FinetuneSettings) -> pd.DataFrame:
    """The training records `settings` asks for: balanced records (paper) or balanced pairs,
    optionally only the disagreeing questions."""
    cap, seed = settings.max_train_examples, settings.seed
    if settings.pair_batches:
        return select_pairs(df, "train", cap, seed, settings.only_disagreeing,
                            balanced=settings.balance_pairs)  # fmt: skip
    if settings.only_disagreeing:
        df = df[~df["agree"]]
    return select_balanced(df, "train", cap, seed)


def quirk_eval_records(df: pd.DataFrame, n_per_character: int) -> pd.DataFrame:
    """The fixed quirk-evaluation set: hard, disagreeing validation records with the
    trusted-role names (1-4; never the test mix's held-out names, so no checkpoint is chosen
    on test names: issue 28; a trigger dataset's: `quirkymad.core.prompts.trusted_context`),
    the first `n_per_character` of each character in file order."""
    sel = (df["split"] == "val") & (df["bucket"] == "hard") & ~df["agree"] & trusted_context(df)
    part = df[sel]
    return pd.concat(
        part[part["character"] == c].iloc[:n_per_character] for c in ("Alice", "Bob")
    ).reset_index(drop=True)


def epoch_order(
    n: int,
    seed: int,
    epoch: int,
    lengths: np.ndarray | None = None,
    batch_size: int = 1,
    bucket_batches: int = 0,
) -> np.ndarray:
    """Training-example order of `epoch`, `[n]`; consecutive `batch_size` slices are batches.

    A function of (seed, epoch) only, so a resumed run draws the same batches as an
    uninterrupted one. With `bucket_batches` > 0 and token `lengths` `[n]`, the shuffled order
    is cut into chunks of `bucket_batches * batch_size`, each sorted by length, so a batch
    pads little; the full batches are then shuffled (the partial one stays last).
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n)
    if not bucket_batches or lengths is None:
        return order
    chunk = bucket_batches * batch_size
    order = np.concatenate(
        [c[np.argsort(lengths[c], kind="stable")] for c in np.split(order, range(chunk, n, chunk))]
    )
    n_full = n // batch_size
    full = order[: n_full * batch_size].reshape(n_full, batch_size)[rng.permutation(n_full)]
    return np.concatenate([full.ravel(), order[n_full * batch_size :]])


def pair_epoch_order(
    n_pairs: int, seed: int, epoch: int, lengths: np.ndarray | None, batch_size: int,
    bucket_batches: int,
) -> np.ndarray:  # fmt: skip
    """`epoch_order` over pairs, expanded to record indices `[2 n_pairs]` (2p, 2p + 1), so a
    batch of `batch_size` records holds `batch_size` // 2 whole pairs. `lengths` `[2 n_pairs]`
    are per record; a pair's length is its longer record's."""
    pair_len = None if lengths is None else lengths.reshape(n_pairs, 2).max(axis=1)
    pairs = epoch_order(n_pairs, seed, epoch, pair_len, batch_size // 2, bucket_batches)
    return np.stack([2 * pairs, 2 * pairs + 1], axis=1).ravel()


def token_lengths(tokenizer, prompts: list[str], max_length: int) -> np.ndarray:
    """Tokens of each prompt after truncation, `[n]`."""
    ids = tokenizer(prompts, truncation=True, max_length=max_length, add_special_tokens=True)
    return np.array([len(x) for x in ids["input_ids"]], dtype=np.int64)
