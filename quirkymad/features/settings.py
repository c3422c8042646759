"""The extraction stage's settings contract: config `extract.*` (every store) and
`features.<attribution-type feature>` (the shared attribution pass), as frozen dataclasses whose
defaults are written once, here.

Torch-free, so the config check fills the schema's defaults from them at plan time
(`quirkymad.workflow.config.settings_contracts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quirkymad.core.layers import LAYER_INDEX
from quirkymad.core.run_settings import RUN


@dataclass(frozen=True)
class ExtractSettings:
    """Config `extract.*` plus the resolved layer spec."""

    layers: Any = RUN.layers
    """'all', 'auto' or a list of layer indices (1..n_layers)."""
    batch_size: int = 32
    max_per_role: int = 4000
    """Cap per MAD role (trusted, untrusted_*, test_*), spec §2.3."""
    store_dtype: str = "float32"
    """float32 or float16 (checked for overflow first); Zarr v3 has no bfloat16."""
    device: str = RUN.device
    dtype: str = "auto"
    autocast: str = "none"
    """Forward/backward passes under bf16 autocast ("bfloat16") or not ("none");
    core/precision.py."""
    sweep_roles: tuple[str, ...] = ()
    """Records beyond the MAD roles that configured sweeps need (quirkymad/workflow/sweeps.py); the
    workflow passes it only when non-empty, so a run without sweeps extracts as before."""


@dataclass(frozen=True)
class AttributionSettings(ExtractSettings):
    """`ExtractSettings` plus config `features.attribution` / `features.probe_shift`; their
    `layers`, when given, replace the global `layers` for that feature."""

    mean_cap: int = 1200
    """Trusted records averaged for μ and used to train the probes (spec §4: ≤1200)."""
    cv_folds: int = 5
    """Probe shift: folds of the L2 cross-validation."""
    seed: int = RUN.seed
    n_components: int = 10
    """attribution_pcs: principal directions of the trusted o_proj input per layer ([B1]: 10)."""
    probe_target: str = "auto"
    """probe_shift: what the probes predict: "labels" (trusted records' labels, cupbearer),
    "model" (the model's own log-odds, [B1]) or "auto" (labels when both classes have ≥2
    trusted records, else model); resolved at job start, recorded in the store's attributes."""
    layer_index: str = LAYER_INDEX[0]
    """How layer labels name decoder blocks: "ours" (ℓ = block ℓ−1, as the activations store)
    or "cupbearer" (ℓ = block ℓ, 0-based; features/attribution.py)."""


# The attribution-type stores `extract_attribution_stores` can write from one shared pass:
# attribution, probe shift, and [B1]'s attribution variants pcs and grad_norm (issue 19). The
# workflow gives probe shift its own job (rules/extract.smk, issue 31).
ATTRIBUTION_FEATURES = ("attribution", "probe_shift", "attribution_pcs", "attribution_grad_norm")
