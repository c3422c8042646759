"""Axes of difficulty at plan time (issue 20; docs/sweeps.md): the sweep points a config asks
for, the settings that key each point's job, the records its stores must hold, and the checks
that stop a bad sweep before any job. Torch-free; Snakemake reads it when it plans the DAG.
What a point is and how it is scored: `quirkymad/scoring/sweeps.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import read_parquet
from quirkymad.core.run_settings import RUN
from quirkymad.features.settings import ExtractSettings
from quirkymad.scoring.sweeps import AXIS_ROLES, DRAWN_AXES, SIZED_AXES, point_sizes, value_label
from quirkymad.stats.settings import ScoringSettings
from quirkymad.workflow.checks import check_raw_scored

DEFAULT_FEATURES = ("activations",)


DEFAULT_DETECTORS = ("mahalanobis", "lof", "que")


DEFAULT_DRAWS = 5


def sweep_specs(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`config["sweeps"]` with every omitted key filled (features, detectors, draws, size)."""
    out = {}
    for axis, spec in (config.get("sweeps") or {}).items():
        spec = dict(spec or {})
        spec.setdefault("features", list(DEFAULT_FEATURES))
        spec.setdefault("detectors", list(DEFAULT_DETECTORS))
        if axis in DRAWN_AXES:
            spec.setdefault("draws", DEFAULT_DRAWS)
        if axis in SIZED_AXES:
            spec.setdefault("size", None)
        out[axis] = spec
    return out


def sweep_points(config: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(axis, feature, detector, value label) of every point, per model × dataset."""
    return [
        (axis, f, d, value_label(v))
        for axis, spec in sweep_specs(config).items()
        for f in spec["features"]
        for d in spec["detectors"]
        for v in spec["values"]
    ]


def extra_roles(config: Mapping[str, Any], feature: str) -> list[str]:
    """Roles beyond the MAD ones that the store of `feature` must hold for the sweeps."""
    return sorted(
        {
            r
            for axis, spec in sweep_specs(config).items()
            if feature in spec["features"]
            for r in AXIS_ROLES.get(axis, ())
        }
    )


def point_settings(config: Mapping[str, Any], axis: str, value: str) -> dict[str, Any]:
    """What determines one point's result besides its store and detector hyperparameters:
    the value, the axis's draws / size, the seed and the interval settings (its params, so
    that changing any of them reruns exactly the points it affects)."""
    spec = sweep_specs(config)[axis]
    raw = {value_label(v): v for v in spec["values"]}[value]
    out: dict[str, Any] = {"axis": axis, "value": raw, "seed": config.get("seed", RUN.seed)}
    for key in ("draws", "size"):
        if key in spec and not (key == "draws" and raw == "all" and axis == "n_trusted"):
            out[key] = spec[key]  # (the whole trusted pool is one draw, whatever `draws`)
    scoring = ScoringSettings(**(config.get("scoring") or {}))
    return out | {"n_bootstrap": scoring.n_bootstrap, "name_bootstrap": scoring.name_bootstrap}


def check_sweeps(config: Mapping[str, Any], source: str = "config") -> None:
    """Checks the schema does not express: features are extracted, detectors are registered,
    value labels are distinct, and no value asks for more records than a store can hold
    (`extract.max_per_role`). Counts in built datasets: `check_pools`."""
    cap = ExtractSettings(**(config.get("extract") or {})).max_per_role
    for axis, spec in sweep_specs(config).items():
        key = f"{source}: sweeps.{axis}"
        check_raw_scored(spec["features"], spec["detectors"], config["features"], key)
        labels = [value_label(v) for v in spec["values"]]
        if len(set(labels)) < len(labels):
            raise QuirkyError(f"{key}.values: {spec['values']} repeats a value")
        if axis == "n_trusted":
            big = [v for v in spec["values"] if v != "all" and v > cap]
            if big:
                raise QuirkyError(f"{key}.values: {big[0]} > the trusted records a store holds"
                                  f" (at most extract.max_per_role = {cap})")  # fmt: skip
        if axis == "contamination" and spec["size"] is not None and spec["size"] > 2 * cap:
            raise QuirkyError(f"{key}.size: {spec['size']} > the easy untrusted records a store"
                              f" holds (at most 2 × extract.max_per_role = {2 * cap})")  # fmt: skip
        if axis == "trusted_difficulty" and spec["size"] is not None and spec["size"] > cap:
            raise QuirkyError(f"{key}.size: {spec['size']} > the trusted records of a band a"
                              f" store holds (at most extract.max_per_role = {cap})")  # fmt: skip
    for name in config.get("figures") or {}:
        if name.startswith("sweep_") and name.removeprefix("sweep_") not in sweep_specs(config):
            raise QuirkyError(f"{source}: figures.{name}: drawn by `sweeps.{name[6:]}`; "
                              f"configure that sweep instead")  # fmt: skip


def role_counts(parquet, config: Mapping[str, Any], feature: str) -> dict[str, int]:
    """Records per role of the store of `feature` that a built dataset gives (the same
    selection as extraction: `quirkymad.datasets.selection.mad_examples`)."""
    from quirkymad.core.prompts import cue_columns
    from quirkymad.datasets.selection import mad_examples

    cols = ["id", "split", "bucket", "name_index", "character", "role", *cue_columns(parquet)]
    df = mad_examples(
        read_parquet(parquet, columns=cols),
        config["extract"]["max_per_role"],
        extra_roles=extra_roles(config, feature),
    )
    return {str(k): int(v) for k, v in df["role"].value_counts().items()}


def check_pools(config: Mapping[str, Any], results: str = "results", source: str = "config"):
    """Every point of every sweep against the records its store will hold, for each dataset
    already built (`results/datasets/{dataset}/data.parquet`); one line naming the key and
    the store's counts. Datasets not built yet are checked by the job (`point_draws`)."""
    from pathlib import Path

    specs = sweep_specs(config)
    for ds in config["datasets"]:
        parquet = Path(results) / "datasets" / ds / "data.parquet"
        if not specs or not parquet.is_file():
            continue
        for f in {f for spec in specs.values() for f in spec["features"]}:
            counts = role_counts(parquet, config, f)
            for axis, spec in specs.items():
                if f not in spec["features"]:
                    continue
                for v in spec["values"]:
                    try:
                        point_sizes(counts, axis, v, spec.get("size"))
                    except QuirkyError as exc:
                        raise QuirkyError(f"{source}: sweeps.{axis}.values: {value_label(v)}: "
                                          f"{exc} (dataset {ds})") from None  # fmt: skip
