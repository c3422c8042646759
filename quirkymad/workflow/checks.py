"""Config checks that more than one section's check needs: `combinations:` (quirkymad.workflow.config)
and `sweeps:` (quirkymad.workflow.sweeps). Below both modules, so neither imports the other for it.
Torch-free: it runs when Snakemake builds the DAG."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from quirkymad.core.errors import QuirkyError
from quirkymad.detectors.params import TRANSFORM_ONLY_DETECTORS


def check_raw_scored(
    features: Iterable[str], detectors: Iterable[str], enabled: Collection[str], key: str
) -> None:
    """A combination's or sweep's `features` are enabled under `features:` (`enabled`) and none
    of its `detectors` scores a transform's outputs only: both score raw feature stores."""
    for f in features:
        if f not in enabled:
            raise QuirkyError(f"{key}.features: {f} is not enabled under features: (enabled: "
                              f"{', '.join(sorted(enabled))}); enable it or drop it here")  # fmt: skip
    for d in detectors:
        if d in TRANSFORM_ONLY_DETECTORS:
            raise QuirkyError(f"{key}.detectors: {d} scores {TRANSFORM_ONLY_DETECTORS[d]} outputs"
                              f" only; {key.rsplit(': ', 1)[-1]} scores raw features")  # fmt: skip
