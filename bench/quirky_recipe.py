"""Does a fine-tuning recipe make the model quirky? One recipe, measured on VALIDATION records.

Fine-tunes with the library's own `quirkymad.finetune.finetune` and the given settings, then
scores the adapter on every hard, disagreeing validation record with a held-out name (the
test mix's conditions, on the validation split, so recipes are never selected on test data):
a, b = mean own-label log-odds of Alice's / Bob's records, Q = min(a, b) (spec §7). Prints one
JSON line (also appended to --out) with the settings, a, b, Q, steps and the fine-tuning cost
(wall seconds and process CPU seconds, which on 2 threads is about twice the wall time).

    PYTHONPATH=. python bench/quirky_recipe.py --data results/data/addition.parquet \\
        --model-dir results/models/smollm2-135m --tag paired \\
        --set lr=3e-3 pair_batches=true only_disagreeing=true lora_layers=10 cpu_autocast=true

`--set` values are parsed as JSON where they can be (numbers, true/false, lists), else strings.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from quirkymad.stats.settings import ScoringSettings


def config_settings(config_path: str, data: str) -> dict:
    """The `finetune` settings `config_path` gives the dataset of `data` (top-level block,
    then the dataset's own override), with the config's seed."""
    import yaml

    from quirkymad.workflow.config import finetune_settings

    config = yaml.safe_load(Path(config_path).read_text())
    dataset = str(pd.read_parquet(data, columns=["dataset"])["dataset"].iloc[0])
    config.setdefault("datasets", {}).setdefault(dataset, {})
    config.setdefault("seed", 0)
    config["device"] = "cpu"
    return finetune_settings(config, dataset)


def parse_sets(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def validation_quirkiness(model_dir, adapter, records: pd.DataFrame, batch_size: int) -> dict:
    """a, b, Q on `records` with the merged adapter, in float32 (as the diagnostics stage)."""
    from quirkymad.core.log_odds import label_log_odds, yes_no_log_odds
    from quirkymad.models import load_model

    model, tok = load_model(model_dir, adapter, device="cpu")
    lam = yes_no_log_odds(model, tok, records["prompt"].tolist(), batch_size, progress=False)
    own = label_log_odds(lam, records["label"].to_numpy())
    alice = (records["character"] == "Alice").to_numpy()
    a, b = float(own[alice].mean()), float(own[~alice].mean())
    acc = own > 0
    return {"a": a, "b": b, "Q": min(a, b), "acc_alice": float(acc[alice].mean()),
            "acc_bob": float(acc[~alice].mean()), "n_alice": int(alice.sum()),
            "n_bob": int((~alice).sum())}  # fmt: skip


def test_mix_report(model_dir, adapter, data, out_dir: Path, max_per_role: int) -> dict:
    """REPORTING ONLY (never used to pick a recipe): on the hard test mix with held-out names,
    the activations x Mahalanobis AUROC (per layer and layer-aggregated, as the workflow's
    scoring stage computes it) and a, b, Q on its disagreeing records (own prompts)."""
    from quirkymad.core.log_odds import label_log_odds
    from quirkymad.core.roles import TEST_ROLES
    from quirkymad.core.store import open_store, strings
    from quirkymad.features.extraction import ExtractSettings, extract_activation_store
    from quirkymad.scoring.stage import score_store

    store = out_dir / "activations.zarr"
    roles = ("trusted", *TEST_ROLES)
    extract_activation_store(model_dir, adapter, data, store,
                             ExtractSettings(max_per_role=max_per_role, device="cpu"),
                             roles=roles)  # fmt: skip
    table = score_store(
        store,
        "activations",
        "mahalanobis",
        {"rcond": 1e-3},
        out_dir / "scores.parquet",
        out_dir / "auroc.parquet",
        {},
        scoring=ScoringSettings(n_bootstrap=200),
    )
    per_layer = table[table["layer"] != "all"]
    ds = open_store(store, variable="log_odds")
    role = strings(ds, "role")
    test = np.isin(role, roles[1:]) & ~ds["agree"].values.astype(bool)
    df = pd.read_parquet(data).set_index("id").loc[strings(ds, "example")[test]]
    own = label_log_odds(ds["log_odds"].values[test], df["label"].to_numpy())
    alice = (df["character"] == "Alice").to_numpy()
    a, b = float(own[alice].mean()), float(own[~alice].mean())
    return {"test_auroc_all": float(table.loc[table["layer"] == "all", "auroc"].iloc[0]),
            "test_auroc_best_layer": float(per_layer["auroc"].max()),
            "test_auroc_median_layer": float(per_layer["auroc"].median()),
            "test_a": a, "test_b": b, "test_Q": min(a, b), "test_n_disagree": int(test.sum())}  # fmt: skip


def main() -> None:
    from quirkymad.finetune import FinetuneSettings, finetune
    from quirkymad.finetune.records import quirk_eval_records

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--tag", default="")
    ap.add_argument("--set", nargs="*", default=[], help="FinetuneSettings key=value")
    ap.add_argument("--config", help="start from this config's finetune settings for the "
                    "dataset (e.g. config.yaml: the default recipe); --set overrides them")  # fmt: skip
    ap.add_argument("--eval-per-character", type=int, default=200)
    ap.add_argument("--keep", help="directory to keep the adapter and training log in")
    ap.add_argument("--out", default="bench/quirky_recipe.jsonl")
    ap.add_argument(
        "--test-report",
        type=int,
        default=0,
        metavar="MAX_PER_ROLE",
        help="also report test-mix Mahalanobis AUROC and a, b (not for selection)",
    )
    args = ap.parse_args()

    base = config_settings(args.config, args.data) if args.config else {}
    settings = FinetuneSettings(**{**base, "device": "cpu", **parse_sets(args.set)})
    out_dir = Path(args.keep or tempfile.mkdtemp(prefix="quirky_recipe_"))
    t0, c0 = time.perf_counter(), time.process_time()
    summary = finetune(args.model_dir, args.data, out_dir / "adapter", out_dir / "log.csv",
                       settings)  # fmt: skip
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    df = pd.read_parquet(args.data)
    records = quirk_eval_records(df, args.eval_per_character)
    quirk = validation_quirkiness(args.model_dir, out_dir / "adapter", records, 32)
    log = pd.read_csv(out_dir / "log.csv")
    curve = log.dropna(subset=["val_loss"])
    cols = [c for c in ("step", "val_loss", "a_alice", "b_bob") if c in curve]
    result = {
        "tag": args.tag,
        "dataset": str(df["dataset"].iloc[0]),
        "set": parse_sets(args.set),
        **quirk,
        "steps_run": summary["steps_run"],
        "best_step": summary["best_step"],
        "best_val_loss": summary["best_val_loss"],
        "finetune_wall_s": round(wall, 1),
        "finetune_cpu_s": round(cpu, 1),
        "threads": torch.get_num_threads(),
        "curve": np.round(curve[cols].to_numpy(), 3).tolist(),
    }
    if args.test_report:
        result.update(test_mix_report(args.model_dir, out_dir / "adapter", args.data, out_dir,
                                      args.test_report))  # fmt: skip
    line = json.dumps(result)
    print(line, flush=True)
    with open(args.out, "a") as f:
        f.write(line + "\n")


if __name__ == "__main__":
    main()
