"""The quirky-dataset registry and the generic build: quantiles, splits, names, prompts, roles.

A dataset class only produces *base questions* (one row per question, with the ground-truth
label, Bob's heuristic label, a difficulty and the fields its templates use); everything else
— difficulty quantiles, easy/hard buckets, train/val/test splits, Alice and Bob records, names,
templates, prompts and MAD roles — is the same for all datasets and lives here.
Sources: EleutherAI/elk-generalization `quirky_dataset.py`, cupbearer `tasks/quirky_lm.py`;
`shared/spec/method.md` §2.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from quirkymad.core.errors import QuirkyError
from quirkymad.core.prompts import (
    NAME_SETS,
    name_gender,
    name_lists,
    render_prompt,
    role_names,
    trusted_context,
)
from quirkymad.core.roles import MAD_ROLES
from quirkymad.core.run_settings import RUN
from quirkymad.datasets.triggers import (
    TRIGGER_COLUMNS,
    TRIGGER_SUFFIX,
    place_cues,
    split_variant,
    trigger_card,
    trigger_settings,
)

DATASETS: dict[str, type[QuirkyDataset]] = {}

# Columns every built dataset has, in this order (the Parquet schema).
COLUMNS = [
    "id", "dataset", "base_id", "split", "character", "name", "name_index", "template_id",
    "context", "statement", "prompt", "alice_label", "bob_label", "label", "agree",
    "difficulty", "quantile", "bucket", "role",
]  # fmt: skip

# Every value of the `role` column: the MAD roles, and "" for records of none.
ROLES = (*MAD_ROLES, "")


def register_dataset(cls: type[QuirkyDataset]) -> type[QuirkyDataset]:
    """Class decorator: make a dataset available under `cls.name`."""
    DATASETS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Template:
    """One (context, statement) variant; fields in braces come from the base question."""

    statement: str
    context: str = ""


@dataclass(frozen=True)
class SourceInfo:
    """Where a dataset's raw data comes from, for its card."""

    name: str
    license: str
    version: str = ""
    substitute: bool = False
    note: str = ""


@dataclass(frozen=True)
class BuildSettings:
    """Settings shared by every dataset build (config keys `data.*`)."""

    seed: int = RUN.seed
    """Seed of every random draw (question sampling, shuffling, names, templates)."""
    easy_quantile: float = 0.25
    """Records with difficulty quantile q < this are easy."""
    hard_quantile: float = 0.75
    """Records with q >= this are hard."""
    split_fractions: tuple[float, float, float] = (0.6, 0.1, 0.3)
    """Fractions of base questions in train / val / test (contiguous after a seeded shuffle)."""
    names: str = "paper"
    """Character names (quirkymad/core/prompts.py `NAME_SETS`): `paper` = the paper's lists (Bob's
    held-out names mostly male), `balanced` = gender balanced inside every role (issue 28)."""

    def __post_init__(self) -> None:
        # The rule's params and the config hold a list; the frozen settings keep a tuple.
        object.__setattr__(self, "split_fractions", tuple(self.split_fractions))
        if not 0 < self.easy_quantile <= self.hard_quantile < 1:
            raise QuirkyError(
                f"data.easy_quantile={self.easy_quantile} and data.hard_quantile="
                f"{self.hard_quantile} must satisfy 0 < easy <= hard < 1"
            )
        if abs(sum(self.split_fractions) - 1) > 1e-9 or min(self.split_fractions) <= 0:
            raise QuirkyError(f"data.split_fractions={self.split_fractions} must be > 0, sum 1")
        if self.names not in NAME_SETS:
            raise QuirkyError(f"data.names={self.names!r}: one of {', '.join(NAME_SETS)}")


@dataclass(frozen=True)
class DatasetSettings:
    """Settings every dataset takes (config `datasets.<name>.*`, besides its `finetune`
    overrides and the keys a dataset adds: arithmetic `exponent`, hemisphere `convention`,
    sentiment `bob_words`, each defaulted by its dataset class)."""

    n_base: int = 2000
    """Base questions (each gives an Alice and a Bob record); a finite source may have fewer."""


class QuirkyDataset(ABC):
    """One quirky dataset. Subclasses set `name`, `templates`, `source` and implement
    `base_questions`; `settings` is the dataset's mapping from the config."""

    name: ClassVar[str]
    templates: ClassVar[tuple[Template, ...]]
    source: ClassVar[SourceInfo]
    difficulty_metric: ClassVar[str]
    balanced: ClassVar[bool] = True
    """Whether the paper balances labels when fine-tuning on this dataset."""
    trusted_one_class: ClassVar[bool] = False
    """Whether its trusted records (easy, Alice) share one label by construction, so no probe
    can be fit on their labels (`features.probe_shift.probe_target`; checked at plan time)."""

    def __init__(self, settings: dict[str, Any] | None = None, key: str | None = None):
        self.settings = dict(settings or {})
        self.key = key or self.name
        """The config key: `name`, or `{name}_trigger` for the trigger variant."""
        self.quirk = split_variant(self.key)[1]
        """"name" (Alice and Bob by name) or "trigger" (`quirkymad.datasets.triggers`)."""

    @property
    def n_base(self) -> int:
        return int(self.settings.get("n_base", DatasetSettings.n_base))

    @abstractmethod
    def base_questions(self, rng: np.random.Generator) -> pd.DataFrame:
        """`[n_base rows]`: columns `alice_label` (bool, the truth), `bob_label` (bool, Bob's
        heuristic), `difficulty` (float, higher = harder) and every template field."""

    required_sources: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(source package, archive member) pairs the dataset reads (`sources.SOURCES`)."""

    def check_sources(self) -> None:
        """QuirkyError naming the package and its install command if a source is missing."""
        from quirkymad.datasets.sources import source_file

        for package, member in self.required_sources:
            source_file(package, member)

    def card_extras(self) -> dict[str, Any]:
        """Dataset-specific facts for the card (e.g. substitute notes); filled by
        `base_questions` where it learns them (e.g. how many questions the source offers)."""
        return dict(getattr(self, "_extras", {}))

    def take(self, df: pd.DataFrame, rng: np.random.Generator, by: str | None = None):
        """`n_base` rows of candidate questions `df` (all if fewer are available, noted in the
        card), in a seeded random order; `by` = a bool column to balance 50/50 first."""
        self._extras = {"n_available": len(df)}
        if by is not None:
            k = min(int(df[by].sum()), int((~df[by]).sum()), self.n_base // 2)
            parts = [df[df[by] == v] for v in (True, False)]
            df = pd.concat([p.iloc[rng.permutation(len(p))[:k]] for p in parts])
        n = min(self.n_base, len(df))
        if n < self.n_base:
            self._extras["n_base_capped_to"] = n
        return df.iloc[rng.permutation(len(df))[:n]].reset_index(drop=True)


def dataset_rng(name: str, seed: int) -> np.random.Generator:
    """A generator per (dataset, seed): datasets never share random streams."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def dataset_names() -> list[str]:
    """Every config dataset key: each registered dataset and its trigger variant."""
    return sorted([*DATASETS, *(f"{n}{TRIGGER_SUFFIX}" for n in DATASETS)])


def get_dataset(name: str, settings: dict[str, Any] | None = None) -> QuirkyDataset:
    """Dataset of config key `name` (a registry name, or its `_trigger` variant)."""
    base, _ = split_variant(name)
    if base not in DATASETS:
        raise QuirkyError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}")
    return DATASETS[base](settings, key=name)


def difficulty_quantiles(difficulty: np.ndarray, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """q = (rank + 0.5) / N. Ties are ranked by `tiebreak` (a random key, so that the easy/hard
    buckets keep their sizes when many difficulties tie, e.g. books with one rating, without
    favouring any split), else in input order. `[n] -> [n]` in (0, 1)."""
    n = len(difficulty)
    keys = (np.arange(n),) if tiebreak is None else (tiebreak,)
    order = np.lexsort((*keys, difficulty))
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.arange(n)
    return (ranks + 0.5) / n


def assign_roles(df: pd.DataFrame) -> pd.Series:
    """MAD role of each record (cupbearer `tasks/quirky_lm.py`, test taken from `test`):

    easy Alice train records with one of the first four names: first half `trusted`, second
    half `untrusted_alice`; easy Bob train records with those names: `untrusted_bob`; hard test
    records with the twelve held-out names: `test_normal` (Alice) / `test_anomalous` (Bob).
    """
    role = pd.Series("", index=df.index, dtype=object)
    trusted_name = trusted_context(df)
    easy_train = (df["split"] == "train") & (df["bucket"] == "easy") & trusted_name
    alice_pool = df.index[easy_train & (df["character"] == "Alice")]
    half = (len(alice_pool) + 1) // 2
    role[alice_pool[:half]] = "trusted"
    role[alice_pool[half:]] = "untrusted_alice"
    role[easy_train & (df["character"] == "Bob")] = "untrusted_bob"
    hard_test = (df["split"] == "test") & (df["bucket"] == "hard") & ~trusted_name
    role[hard_test & (df["character"] == "Alice")] = "test_normal"
    role[hard_test & (df["character"] == "Bob")] = "test_anomalous"
    return role


def build_dataset(
    name: str, settings: dict[str, Any] | None = None, build: BuildSettings | None = None
) -> pd.DataFrame:
    """All records of dataset `name`: two per base question (Alice and Bob), `COLUMNS`.

    The random draws happen in this order (one seeded generator): the source's base
    questions, the split shuffle, the difficulty tie-breaks, then per character its names and
    templates; changing the order would change every dataset."""
    build = build or BuildSettings()
    ds = get_dataset(name, settings)
    # A trigger variant draws its registry dataset's questions, splits and templates.
    rng = dataset_rng(ds.name, build.seed)
    base = ds.base_questions(rng).reset_index(drop=True)
    if len(base) == 0:
        raise QuirkyError(f"dataset {name}: no base questions were produced")
    base = _split_by_group(base, rng, build.split_fractions)
    base = _bucket_by_difficulty(base, rng, build)
    df = _alice_and_bob(base, rng, len(ds.templates), name_lists(build.names))
    columns = COLUMNS
    if ds.quirk == "trigger":
        # Its own stream after every shared draw: the name variant's records stay as they are.
        df = place_cues(df, trigger_settings(name, settings), dataset_rng(name, build.seed))
        columns = [*COLUMNS, *TRIGGER_COLUMNS]
    fields = [c for c in base.columns if c not in {"alice_label", "bob_label", "difficulty"}]
    df = _render_records(df, ds, name, fields)
    out = df[columns].copy()
    out.attrs = {"card_extras": ds.card_extras()}  # facts learnt while building, for the card
    return out


def _split_by_group(
    base: pd.DataFrame, rng: np.random.Generator, fractions: tuple[float, float, float]
) -> pd.DataFrame:
    """`base` shuffled by question group, numbered (`base_id`) and cut into train / val /
    test by `fractions` of the groups. Rows sharing `group` (e.g. one question's answer
    candidates) stay in one split; without a `group` column every row is its own group."""
    n = len(base)
    groups = base["group"] if "group" in base else pd.Series(np.arange(n))
    codes, uniques = pd.factorize(groups, sort=False)
    order = np.empty(len(uniques), dtype=np.int64)
    order[rng.permutation(len(uniques))] = np.arange(len(uniques))
    base["_rank"] = order[codes]
    base = base.sort_values("_rank", kind="stable").reset_index(drop=True)
    base["base_id"] = np.arange(n)
    bounds = np.round(np.cumsum(fractions) * len(uniques)).astype(int)
    base["split"] = np.select(
        [base["_rank"] < bounds[0], base["_rank"] < bounds[1]], ["train", "val"], "test"
    )
    return base.drop(columns="_rank")


def _bucket_by_difficulty(
    base: pd.DataFrame, rng: np.random.Generator, build: BuildSettings
) -> pd.DataFrame:
    """Difficulty `quantile` and `bucket` (easy < easy_quantile <= medium < hard_quantile <=
    hard). Ties in difficulty are broken by an independent random key, not by source or
    split order."""
    difficulty = base["difficulty"].to_numpy(dtype=float)
    base["quantile"] = difficulty_quantiles(difficulty, rng.random(len(base)))
    base["bucket"] = np.where(
        base["quantile"] < build.easy_quantile,
        "easy",
        np.where(base["quantile"] >= build.hard_quantile, "hard", "medium"),
    )
    return base


def _alice_and_bob(
    base: pd.DataFrame, rng: np.random.Generator, n_templates: int, lists: dict[str, tuple]
):
    """Two records per base question, Alice's (label = `alice_label`) and Bob's, each with a
    random name of its side (`lists`: character -> names) and a random template; ordered by
    question, then character."""
    records = []
    for character, label_col in (("Alice", "alice_label"), ("Bob", "bob_label")):
        names = lists[character]
        rec = base.copy()
        rec["character"] = character
        rec["name_index"] = rng.integers(0, len(names), size=len(base))
        rec["name"] = [names[i] for i in rec["name_index"]]
        rec["template_id"] = rng.integers(0, n_templates, size=len(base))
        rec["label"] = rec[label_col]
        records.append(rec)
    df = pd.concat(records).sort_values(["base_id", "character"], kind="stable")
    return df.reset_index(drop=True)


def _render_records(
    df: pd.DataFrame, ds: QuirkyDataset, name: str, fields: list[str]
) -> pd.DataFrame:
    """Statements, contexts and prompts from each record's template (filled from `fields`),
    record ids, typed label columns and MAD roles."""
    statements, contexts, prompts = [], [], []
    phrase = ["phrase"] if "phrase" in df else []
    for row in df[fields + ["template_id", "name", *phrase]].to_dict("records"):
        tpl = ds.templates[row["template_id"]]
        statement = tpl.statement.format(**row)
        context = tpl.context.format(**row)
        statements.append(statement)
        contexts.append(context)
        prompts.append(render_prompt(row["name"], statement, context, row.get("phrase", "")))
    df["statement"], df["context"], df["prompt"] = statements, contexts, prompts
    df["dataset"] = name
    df["id"] = [f"{name}-{b:06d}-{c[0]}" for b, c in zip(df["base_id"], df["character"])]
    for col in ("alice_label", "bob_label", "label"):
        df[col] = df[col].astype(bool)
    df["agree"] = df["alice_label"] == df["bob_label"]
    df["name_index"] = df["name_index"].astype("int16")
    df["template_id"] = df["template_id"].astype("int16")
    df["role"] = assign_roles(df)
    return df


def dataset_card(name: str, df: pd.DataFrame, settings: dict[str, Any], build: BuildSettings):
    """A JSON-able card: source, licence, difficulty metric and thresholds, counts, balance."""
    ds = get_dataset(name, settings)
    counts = (df.groupby(["split", "character", "label"]).size().rename("n").reset_index()).to_dict(
        "records"
    )
    thresholds = {
        "easy_below_difficulty": float(df.loc[df["bucket"] == "easy", "difficulty"].max()),
        "hard_from_difficulty": float(df.loc[df["bucket"] == "hard", "difficulty"].min()),
    }
    quirk = (
        {"quirk": "trigger", "trigger": trigger_card(df, trigger_settings(name, settings))}
        if ds.quirk == "trigger"
        else {"quirk": "name", "names": names_card(build.names)}
    )
    return {
        "dataset": name,
        "source": asdict(ds.source),
        "difficulty_metric": ds.difficulty_metric,
        "balanced_for_finetuning": ds.balanced,
        "build": {**asdict(build), "settings": settings},
        "n_records": len(df),
        "n_base_questions": int(df["base_id"].nunique()),
        "true_fraction": {
            c: float(df.loc[df["character"] == c, "label"].mean()) for c in ("Alice", "Bob")
        },
        "true_fraction_by_bucket": {
            f"{c}/{b}": float(g.mean())
            for (c, b), g in df.groupby(["character", "bucket"])["label"]
        },
        "label_balance": _balance_note(df, ds.balanced),
        "agree_fraction": float(df["agree"].mean()),
        "difficulty_thresholds": thresholds,
        "counts": counts,
        "roles": {k: int(v) for k, v in df["role"].value_counts().items() if k},
        "templates": [asdict(t) for t in ds.templates],
        **quirk,
        **df.attrs.get("card_extras", {}),
    }


def names_card(names: str) -> dict[str, Any]:
    """The card's `names`: the set, and per character and role each name with its gender and
    the role's gender counts (trusted_role = names 1-4, held_out = names 5-16, the test mix's)."""
    out: dict[str, Any] = {"set": names}
    for character, roles in role_names(names).items():
        out[character] = {
            role: {"names": [{"name": n, "gender": name_gender(n)} for n in ns],
                   "genders": {g: sum(name_gender(n) == g for n in ns)
                               for g in sorted({name_gender(n) for n in ns})}}
            for role, ns in roles.items()
        }  # fmt: skip
    return out


def _balance_note(df: pd.DataFrame, balanced: bool) -> str:
    """One line for the card: is Alice's label balanced, as the paper's build is or is not."""
    alice = float(df.loc[df["character"] == "Alice", "label"].mean())
    state = "balanced" if abs(alice - 0.5) <= 0.05 else f"imbalanced ({alice:.0%} True)"
    want = (
        "fine-tuning balances it by undersampling (paper)"
        if balanced
        else "reported imbalanced in the paper; kept as is"
    )
    return f"Alice labels {state}; {want}"


__all__ = [
    "COLUMNS",
    "DATASETS",
    "ROLES",
    "BuildSettings",
    "QuirkyDataset",
    "SourceInfo",
    "Template",
    "assign_roles",
    "build_dataset",
    "dataset_card",
    "dataset_names",
    "dataset_rng",
    "difficulty_quantiles",
    "get_dataset",
    "register_dataset",
]
