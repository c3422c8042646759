"""bf16 autocast vs fp32 for the CPU extraction of the default run, measured in the same run.

For one dataset, the activations store and the attribution + probe-shift stores (shared passes)
are extracted twice from the embedded SmolLM2-135M (fine-tuned adapter if `--adapter`, else the
base model): `extract.autocast: none` (fp32, the baseline) and `bfloat16`. Prints each store's
CPU time and the speed ratio, the largest per-layer relative error of the stored features
(‖x_bf16 − x_fp32‖ / ‖x_fp32‖ over examples), the answer log-odds' largest difference, and the
Mahalanobis AUROC per layer and layer-aggregated under both, with their largest difference.

    PYTHONPATH=. python bench/autocast.py [--dataset addition] [--max-per-role 100] \\
        [--adapter results/smollm2-135m/addition/adapter] [--activations-only]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

from quirkymad.features.extraction import (
    AttributionSettings,
    ExtractSettings,
    extract_activation_store,
    extract_attribution_stores,
)
from quirkymad.scoring.stage import score_store
from quirkymad.stats.settings import ScoringSettings

EMBEDDED = Path("results/models/smollm2-135m")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="addition")
    ap.add_argument("--n-base", type=int, default=4000)
    ap.add_argument("--max-per-role", type=int, default=100)
    ap.add_argument("--adapter", default=None)
    ap.add_argument("--probe-layers", default="1,10,20,29")
    ap.add_argument("--activations-only", action="store_true", help="skip the gradient pass")
    a = ap.parse_args()
    from quirkymad.datasets import BuildSettings, write_dataset
    from quirkymad.models import prepare_model

    if not EMBEDDED.exists():
        prepare_model("smollm2-135m", {}, EMBEDDED)
    tmp = Path(tempfile.mkdtemp())
    data = tmp / "data.parquet"
    write_dataset(a.dataset, {"n_base": a.n_base}, BuildSettings(), data, tmp / "card.json")
    common = {"batch_size": 32, "max_per_role": a.max_per_role, "device": "cpu"}
    probe_layers = [int(x) for x in a.probe_layers.split(",")]
    cpu, stores = {}, {}
    for mode in ("none", "bfloat16"):
        out = {f: tmp / mode / f"{f}.zarr" for f in ("activations", "attribution", "probe_shift")}
        t = time.process_time()
        extract_activation_store(
            EMBEDDED, a.adapter, data, out["activations"], ExtractSettings(**common, autocast=mode)
        )
        cpu[mode, "activations"] = time.process_time() - t
        stores[mode] = out
        if a.activations_only:
            continue
        t = time.process_time()
        extract_attribution_stores(
            EMBEDDED, a.adapter, data,
            {f: out[f] for f in ("attribution", "probe_shift")},
            {"attribution": AttributionSettings(**common, autocast=mode),
             "probe_shift": AttributionSettings(**common, layers=probe_layers, autocast=mode)},
        )  # fmt: skip
        cpu[mode, "attribution+probe_shift"] = time.process_time() - t
    stages = ["activations"] + ([] if a.activations_only else ["attribution+probe_shift"])
    for stage in stages:
        fp32, bf16 = cpu["none", stage], cpu["bfloat16", stage]
        print(f"{stage}: CPU {fp32:.1f} s fp32, {bf16:.1f} s bf16, speed-up {fp32 / bf16:.2f}x")
    labels = {"model": "smollm2-135m", "dataset": a.dataset, "transform": "none"}
    for feature in ["activations"] + ([] if a.activations_only else ["attribution", "probe_shift"]):
        x, y = (xr.open_zarr(stores[m][feature]) for m in ("none", "bfloat16"))
        u, v = x[feature].values, y[feature].values
        rel = [
            np.linalg.norm(v[:, i] - u[:, i]) / max(np.linalg.norm(u[:, i]), 1e-30)
            for i in range(u.shape[1])
        ]
        dlog = np.abs(x["log_odds"].values - y["log_odds"].values).max()
        print(f"{feature}: per-layer relative error max {max(rel):.4f} median "
              f"{np.median(rel):.4f}; answer log-odds max |diff| {dlog:.4f}")  # fmt: skip
        auc = {}
        for m in ("none", "bfloat16"):
            t = score_store(stores[m][feature], feature, "mahalanobis", {"rcond": 1e-3},
                            tmp / f"{m}{feature}s.parquet", tmp / f"{m}{feature}a.parquet",
                            labels, scoring=ScoringSettings(n_bootstrap=0))  # fmt: skip
            auc[m] = t.set_index("layer")["auroc"]
        d = (auc["bfloat16"] - auc["none"]).abs()
        print(f"{feature} x mahalanobis AUROC: aggregated fp32 {auc['none']['all']:.4f} bf16 "
              f"{auc['bfloat16']['all']:.4f}; per-layer max |diff| {d.max():.4f} "
              f"(layer {d.idxmax()}), mean {d.mean():.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
