# Config validation, wildcard constraints and every input function of the workflow.
import os
import re
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from quirkymad.config import OFFLINE_DETECTORS, check_config
from quirkymad.errors import QuirkyError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# QUIRKYMAD_SKIP_MODEL_CHECK=1 lets a dry run (-n) plan a DAG whose model weights are not on
# this machine (e.g. config/paper.yaml on a laptop or login node). It is ignored for real runs,
# so a missing model still fails before any job.
_dry = bool(workflow.output_settings and workflow.output_settings.dryrun)
_skip_models = os.environ.get("QUIRKYMAD_SKIP_MODEL_CHECK") == "1" and _dry
try:
    check_config(config, source="config", check_models=not _skip_models)
except QuirkyError as exc:
    sys.exit(f"quirkymad: {exc}")
# Fills schema defaults into `config`; check_config already reported any violation.
validate(config, "../config/schema.yaml", set_default=True)

MODELS = list(config["models"])
DATASETS = list(config["datasets"])
FEATURES = list(config["features"])
DETECTORS = list(config["detectors"])
TRANSFORMS = ["none"]


def _alt(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    model=_alt(MODELS),
    dataset=_alt(DATASETS),
    feature=_alt(FEATURES),
    detector=_alt(DETECTORS),
    transform=_alt(TRANSFORMS),


def heavy_threads():
    """Model jobs take every core Snakemake has; they run one at a time on a laptop.

    On a cluster (`--workflow-profile profiles/slurm`) the profile's `set-threads` decides, and
    the SLURM executor turns threads into `--cpus-per-task`."""
    try:
        return max(1, workflow.cores or 1)
    except WorkflowError:  # --report / --lint run without --cores
        return 1


# Cluster sizing per model (used by `resources:` of the model rules; a local run ignores them).
# params_b: parameters in billions -> host memory for loading bf16/fp32 weights + activations;
# runtimes in minutes for the paper-size config on one ~80 GB GPU (LoRA fine-tuning of a
# 7-8B model in bf16 needs ~40 GB of GPU memory: pick WF_GPU_MODEL accordingly).
MODEL_SIZING = {
    "mistral-7b": {"params_b": 7.2, "finetune_min": 24 * 60, "extract_min": 4 * 60},
    "llama-3.1-8b": {"params_b": 8.0, "finetune_min": 24 * 60, "extract_min": 4 * 60},
}
SMALL_MODEL = {"params_b": 0.2, "finetune_min": 60, "extract_min": 30}


def _sizing(wc):
    return MODEL_SIZING.get(wc.model, SMALL_MODEL)


def model_mem_mb(wc):
    """Host RAM: 4 bytes/param (fp32 load before the cast) + 4 GB for data and Python."""
    return int(_sizing(wc)["params_b"] * 4 * 1024) + 4096


def finetune_runtime(wc):
    return _sizing(wc)["finetune_min"]


def extract_runtime(wc):
    return _sizing(wc)["extract_min"]


def model_gpus(wc):
    """GPUs per model job: one when the config runs on CUDA, none on CPU (no --gpus flag)."""
    return 1 if str(config["device"]).startswith("cuda") else 0


def model_settings(wc):
    return config["models"][wc.model] or {}


def dataset_settings(wc):
    return config["datasets"][wc.dataset] or {}


def build_settings():
    return {"seed": config["seed"], **config["data"]}


def finetune_settings():
    return {"seed": config["seed"], "device": config["device"], **config["finetune"]}


def extract_settings():
    return {"layers": config["layers"], "device": config["device"], **config["extract"]}


def attribution_settings(feature):
    """Extraction settings of `attribution` / `probe_shift`: config `features.<feature>` (e.g.
    its own `layers`) over the global `extract` settings and `layers`."""
    return {
        "layers": config["layers"],
        "device": config["device"],
        "seed": config["seed"],
        **config["extract"],
        **(config["features"].get(feature) or {}),
    }


def diagnostics_settings():
    return {"device": config["device"], **config["diagnostics"]}


def detector_hparams(wc):
    return config["detectors"][wc.detector] or {}


def feature_store(wc):
    return f"results/{wc.model}/{wc.dataset}/features/{wc.feature}.zarr"


def auroc_tables(setting=None, features=None, detectors=None):
    """Per-job AUROC tables, optionally only those of one setting / features / detectors, so
    that a figure depends on exactly the scores it shows."""
    chosen = [
        d
        for d in DETECTORS
        if (detectors is None or d in detectors)
        and (setting is None or (d in OFFLINE_DETECTORS) == (setting == "offline"))
    ]
    return expand(
        "results/{model}/{dataset}/auroc/{feature}/{transform}/{detector}.parquet",
        model=MODELS,
        dataset=DATASETS,
        feature=[f for f in FEATURES if features is None or f in features],
        transform=TRANSFORMS,
        detector=chosen,
    )


def intermediate_outputs():
    """Artifacts researchers reuse; requested by `all` so a lost one is rebuilt (Snakemake
    does not rebuild a missing intermediate whose consumers are up to date)."""
    return [
        *expand("results/datasets/{dataset}/{f}", dataset=DATASETS, f=["data.parquet", "card.json"]),
        *expand(
            "results/{model}/{dataset}/{f}",
            model=MODELS,
            dataset=DATASETS,
            f=["adapter", "finetune/training_log.csv"],
        ),
        *expand(
            "results/{model}/{dataset}/features/{feature}.zarr",
            model=MODELS,
            dataset=DATASETS,
            feature=FEATURES,
        ),
    ]


def final_outputs():
    figures = expand("results/figures/{figure}.{ext}", figure=list(config["figures"]), ext=["png", "pdf"])
    tables = [
        "results/tables/auroc.csv",
        "results/tables/auroc_summary_overall.csv",
        "results/tables/separation_summary.csv",
        "results/tables/quirkiness.csv",
    ]
    return [*intermediate_outputs(), *tables, *figures]
