# Config validation, wildcard constraints and every input function of the workflow.
import math
import os
import re
import sys

from snakemake.exceptions import WorkflowError

from quirkymad.workflow.config import (
    EXPLAIN_DETECTORS,
    TRANSFORM_WIRING_KEYS,
    check_config,
    concrete_layers,
    finetune_settings,
    model_layers,
    replicate_seed as seed_of_replicate,
)
from quirkymad.core.errors import QuirkyError
from quirkymad.figures.catalogue import FIGURE_CATALOGUE, Scores
from quirkymad.finetune.settings import run_only_keys
from quirkymad.core.layers import feature_layer_spec
from quirkymad.models import model_facts
from quirkymad.workflow.plan import transform_fit_seconds
from quirkymad.transforms.sizing import transform_fit
from quirkymad.workflow.jobs import ATTRIBUTION_PASS, job_table

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# QUIRKYMAD_SKIP_MODEL_CHECK=1 lets a dry run (-n) plan a DAG whose model weights are not on
# this machine (e.g. config/paper.yaml on a laptop or login node). It is ignored for real runs,
# so a missing model still fails before any job.
_dry = bool(workflow.output_settings and workflow.output_settings.dryrun)
_skip_models = os.environ.get("QUIRKYMAD_SKIP_MODEL_CHECK") == "1" and (_dry or workflow.touch)
try:
    # Also fills the schema's defaults into `config` (one validation pass; Snakemake's
    # `validate(set_default=True)` would parse and validate a second time).
    check_config(config, source="config", check_models=not _skip_models, set_defaults=True)
except QuirkyError as exc:
    sys.exit(f"quirkymad: {exc}")

# Every job of the run, once (quirkymad/workflow/jobs.py; issue 29): the target lists and the
# collect jobs' inputs below are read off it, and `quirkymad plan` costs the same rows.
JOBS = job_table(config)
MODELS, DATASETS, FEATURES = JOBS.models, JOBS.datasets, JOBS.features
TRANSFORM_CONFIG = JOBS.transforms
TRANSFORMS = ["none", *TRANSFORM_CONFIG]
SCORES = JOBS.scores  # the scored (transform, detector) pairs
TRANSFORM_FEATURES = JOBS.transform_features  # transforms read activations only (spec §5)

# --- seeds as replicates (issue 18; docs/statistics.md "Seeds as replicates") ---
# `seeds:` runs the fine-tune and everything after it once per seed; the datasets are built
# once (with `seed`). A replicate's artifacts live under results/{model}/{replicate}{dataset}/,
# where {replicate} is "" for the run's `seed` (today's paths) and "seed{n}/" for another seed.
SEEDS, REPLICATES = JOBS.seeds, JOBS.replicates


def replicate_seed(wc):
    """The seed of the job's replicate: fine-tuning, probes, transforms and bootstrap."""
    return seed_of_replicate(wc.replicate, config)


def _alt(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    model=_alt(MODELS),
    replicate=f"(?:{_alt(REPLICATES)})",
    dataset=_alt(DATASETS),
    feature=_alt(FEATURES),
    detector=_alt(sorted({d for _, d in SCORES})),
    transform=_alt(TRANSFORMS),
    figure=_alt([*config["figures"], *(f"sweep_{axis}" for axis in config["sweeps"])]),


def heavy_threads():
    """Model jobs take every core Snakemake has; they run one at a time on a laptop.

    On a cluster (`--workflow-profile profiles/slurm`) the profile's `set-threads` decides, and
    the SLURM executor turns threads into `--cpus-per-task`."""
    try:
        return max(1, workflow.cores or 1)
    except WorkflowError:  # --report / --lint run without --cores
        return 1


def _sizing(wc):
    """The model registry's facts (`ModelFacts`: parameters, runtimes) of the job's model."""
    return model_facts(wc.model, config["models"][wc.model])


def model_mem_mb(wc):
    """Host RAM: 4 bytes/param (fp32 load before the cast) + 4 GB for data and Python."""
    return int(_sizing(wc).params_b * 4 * 1024) + 4096


def finetune_runtime(wc):
    return _sizing(wc).finetune_min


def extract_runtime(wc):
    return _sizing(wc).extract_min


def model_gpus(wc):
    """GPUs per model job: one when the config runs on CUDA, none on CPU (no --gpus flag)."""
    return 1 if str(config["device"]).startswith("cuda") else 0


def _transform_fit(wc):
    """The planner's size of this `fit_transform` job (quirkymad/transforms/sizing.py), with
    the store's records bounded by `extract.max_per_role` (trusted ≤ cap, all five roles ≤ 5 ×
    cap): no dataset needs to be built to plan the DAG."""
    spec, facts = TRANSFORM_CONFIG[wc.transform], _sizing(wc)
    n_layers = len(transform_settings(wc)["layers"])
    cap = config["extract"]["max_per_role"]
    on_gpu = model_gpus(wc) > 0
    return transform_fit(wc.transform, spec, facts.d_model, n_layers, cap, 5 * cap, on_gpu)


def transform_mem_mb(wc):
    """Host RAM of a `fit_transform` job (+ its training state when it fits on the CPU)."""
    return math.ceil(_transform_fit(wc).host_bytes / 2**20)


def transform_runtime(wc, threads):
    """Minutes: twice the planner's estimate (CPU core-seconds over the job's threads), at
    least 30 (the profile's default for every job)."""
    on_gpu = model_gpus(wc) > 0
    steps = TRANSFORM_CONFIG[wc.transform]["steps"]
    secs = transform_fit_seconds(_transform_fit(wc), on_gpu, steps)
    return max(30, math.ceil(2 * secs / (1 if on_gpu else max(1, threads)) / 60))


# --- job groups (issue 31; docs/cluster.md "Job groups") ---
# On a cluster, the many short jobs (scoring, combinations, sweep points, explanations, loss
# curves, separation analysis) of one model x replicate x dataset are submitted as one group
# job, and the run-wide tables and figures as one more; profiles/slurm's `group-components`
# names these templates so that a group spans all of its (unconnected) jobs. Snakemake ignores
# groups when it runs jobs locally (Rule.group is None there), so a local run, its job counts
# and its caching are as without them; a dry run computes and checks them either way.
JOB_GROUPS = {
    "dataset": "small_{model}_{replicate}{dataset}",
    "base": "small_{model}_base_{dataset}",  # the base-model controls (no replicate)
    "run": "collect",
}


def job_group(scope):
    """The `group:` of a rule: `dataset` (per model x replicate x dataset, the template's
    wildcards filled per job), `base` (per model x dataset, the base model's control scoring)
    or `run` (one for the whole run)."""
    return JOB_GROUPS[scope]


def model_settings(wc):
    return config["models"][wc.model] or {}


def dataset_settings(wc):
    """What builds the dataset; its fine-tuning overrides are not (they would rebuild it)."""
    return {k: v for k, v in (config["datasets"][wc.dataset] or {}).items() if k != "finetune"}


def build_settings():
    return {"seed": config["seed"], **config["data"]}


def finetune_params(wc):
    """The fine-tuning settings of the dataset that determine the adapter; the run-only keys
    (`checkpoint_every`) are left out so that changing them reruns nothing (the script reads
    them from the config)."""
    merged = finetune_settings(config, wc.dataset)
    return {k: v for k, v in merged.items() if k not in run_only_keys()} | {"seed": replicate_seed(wc)}


def extract_settings(wc):
    # `layers: adapted` becomes the model's list here (the params of the list written out)
    layers = concrete_layers(config, config["layers"], wc.model)
    return {"layers": layers, "device": config["device"], **config["extract"]}


def attribution_settings(feature, wc):
    """Extraction settings of `attribution` / `probe_shift`: config `features.<feature>` (e.g.
    its own `layers`) over the global `extract` settings and `layers`."""
    own = dict(config["features"].get(feature) or {})
    _, layers, first = feature_layer_spec(config, feature)  # its own layers, else the run's
    own.pop("layers", None)
    if own.get("layer_index") == "ours":  # the default; left out so that it reruns nothing
        del own["layer_index"]
    if own.get("probe_target") == "auto":  # the default (issue 31): likewise reruns nothing
        del own["probe_target"]
    return {
        "layers": concrete_layers(config, layers, wc.model, first),
        "device": config["device"],
        "seed": replicate_seed(wc),
        **config["extract"],
        **own,
    }


def diagnostics_settings():
    # The quirkiness job reads own-prompt log-odds from the activations store, so it runs its
    # opposing prompts at the same precision.
    return {"device": config["device"], "autocast": config["extract"]["autocast"], **config["diagnostics"]}


def detector_hparams(wc):
    """`detectors.<name>`; a detector listed only under a transform runs with its defaults."""
    return config["detectors"].get(wc.detector) or {}


def feature_store(wc):
    return f"results/{wc.model}/{wc.replicate}{wc.dataset}/features/{wc.feature}.zarr"


def transform_dir(wc):
    return f"results/{wc.model}/{wc.replicate}{wc.dataset}/transforms/{wc.feature}/{wc.transform}"


def score_inputs(wc):
    """The feature store, plus the fitted transform unless the transform is `none`."""
    inputs = {"store": feature_store(wc)}
    if wc.transform != "none":
        inputs["transform"] = transform_dir(wc)
    return inputs


def transform_train_store(wc):
    """Trusted activations of the fine-tuned model (default) or of the base model."""
    if TRANSFORM_CONFIG[wc.transform]["train_on"] == "base":
        return f"results/{wc.model}/{wc.dataset}/features/{wc.feature}_base.zarr"
    return feature_store(wc)


def transform_settings(wc):
    """Everything that determines a fitted transform (its `detectors` list does not, so adding
    a detector there refits nothing): resolved layers, hyperparameters, training data, seed."""
    spec = TRANSFORM_CONFIG[wc.transform]
    return {
        "layers": model_layers(spec["layers"], wc.model, config["models"][wc.model], transform=True),
        "hparams": {
            **{k: v for k, v in spec.items() if k not in TRANSFORM_WIRING_KEYS},
            "seed": replicate_seed(wc),
        },
        "train_on": spec["train_on"],
    }


score_dirs = JOBS.score_dirs


def figure_inputs(wc):
    """The tables of the figure's catalogue entry: a results table's Parquet file, or the
    scoring directories of one feature and detector (untransformed) for `Scores`."""
    return {
        name: score_dirs(features=[src.feature], detectors=[src.detector], transforms=["none"])
        if isinstance(src, Scores)
        else f"results/tables/{src}.parquet"
        for name, src in FIGURE_CATALOGUE[wc.figure].tables.items()
    }


def figure_category(wc):
    return FIGURE_CATALOGUE[wc.figure].category


def figure_caption(wc):
    return FIGURE_CATALOGUE[wc.figure].caption


adapter_jobs = JOBS.adapter_jobs  # the `quirky` flag of each fine-tune (issue 28)
auroc_settings = JOBS.auroc_settings


def intermediate_outputs():
    """Artifacts researchers reuse; requested by `all` so a lost one is rebuilt (Snakemake
    does not rebuild a missing intermediate whose consumers are up to date)."""
    return [
        *expand("results/datasets/{dataset}/{f}", dataset=DATASETS, f=["data.parquet", "card.json"]),
        *expand(
            "results/{model}/{replicate}{dataset}/{f}",
            model=MODELS,
            replicate=REPLICATES,
            dataset=DATASETS,
            f=["adapter", "finetune/training_log.csv"],
        ),
        *score_dirs(),
        *combination_dirs(),  # combos (issue 19)
        *expand(
            "results/{model}/{replicate}{dataset}/features/{feature}.zarr",
            model=MODELS,
            replicate=REPLICATES,
            dataset=DATASETS,
            feature=FEATURES,
        ),
        *expand(
            "results/{model}/{replicate}{dataset}/transforms/{feature}/{transform}",
            model=MODELS,
            replicate=REPLICATES,
            dataset=DATASETS,
            feature=TRANSFORM_FEATURES,
            transform=list(TRANSFORM_CONFIG),
        ),
    ]


def final_outputs():
    figures = expand("results/figures/{figure}.{ext}", figure=list(config["figures"]), ext=["png", "pdf"])
    tables = [
        "results/tables/auroc.csv",
        "results/tables/auroc_summary_overall.csv",
        "results/tables/separation_summary.csv",
        "results/tables/quirkiness.csv",
        "results/tables/reference_comparison.csv",  # detectors helper (issue 19)
        *(["results/tables/comparisons.csv"] if COMPARISONS else []),  # stats (issue 18)
        *(["results/tables/auroc_seeds.csv"] if len(SEEDS) > 1 else []),  # seeds (issue 18)
        *control_outputs(),  # controls (issue 28)
    ]
    loss_curves = expand(
        "results/{model}/{replicate}{dataset}/finetune/loss_curve.{ext}",
        model=MODELS,
        replicate=REPLICATES,
        dataset=DATASETS,
        ext=["png", "pdf"],
    )
    return [*intermediate_outputs(), *tables, *figures, *loss_curves, *explain_outputs(),
            *sweep_outputs()]  # fmt: skip


# --- explain (issue 21; rules/explain.smk) ---
EXPLAIN = JOBS.explain


def explain_settings():
    """`explain` minus its job list: adding a job to the list reruns no other job."""
    return {k: v for k, v in config["explain"].items() if k != "scores"}


def explain_inputs(wc):
    """The scoring job's inputs, its scores, and the prepared model (logit lens)."""
    return {
        **score_inputs(wc),
        "scores": f"results/{wc.model}/{wc.replicate}{wc.dataset}/scores/{wc.feature}/{wc.transform}/{wc.detector}",
        "model": f"results/models/{wc.model}",
    }


explain_dirs = JOBS.explain_dirs


def explain_outputs():
    """Every explanation job's directory and the collected directions table of each kind."""
    tables = [f"results/tables/explain/{f}/{t}/{d}.parquet" for f, t, d in EXPLAIN]
    return [*explain_dirs(EXPLAIN), *tables]


# --- stats (issue 18): paired comparisons (quirkymad/stats/compare.py) ---
# Pairs of `comparisons:` whose two scores this run computes; the others are skipped, with
# their reason written to logs/compare_scores.log (one default list serves every run).
COMPARISONS, COMPARISONS_SKIPPED = JOBS.comparisons, JOBS.comparisons_skipped
if "comparisons_forest" in config["figures"] and not COMPARISONS:
    sys.exit(
        "quirkymad: config: figures.comparisons_forest: no pair of `comparisons:` is scored in this run"
        f" ({'; '.join(f'{k}: {v}' for k, v in COMPARISONS_SKIPPED.items()) or 'none configured'})"
    )


comparison_jobs = JOBS.comparison_jobs


def comparison_inputs():
    return sorted({job[k] for job in comparison_jobs() for k in ("a_dir", "b_dir")})


# --- sweeps (issue 20): axes of difficulty (quirkymad/workflow/sweeps.py, rules/sweeps.smk) ---
from quirkymad.workflow.sweeps import check_pools, extra_roles, point_settings

SWEEPS = JOBS.sweeps
SWEEP_POINTS = JOBS.sweep_points  # (axis, feature, detector, value)
try:  # a value the built datasets' stores cannot serve stops here, before any job
    check_pools(config, "results")
except QuirkyError as exc:
    sys.exit(f"quirkymad: {exc}")


def sweep_extract_settings(features):
    """`sweep_roles` for the extraction of `features`, only when a sweep needs records beyond
    the MAD roles (so a run without such sweeps extracts with unchanged params)."""
    roles = sorted({r for f in features for r in extra_roles(config, f)})
    return {"sweep_roles": roles} if roles else {}


def attribution_job_settings(features):
    """The params of the job writing `features`' stores (`extract_attribution`, or
    `extract_probe_shift`): each feature's settings, with the records its sweeps need."""
    return lambda wc: {
        f: {**attribution_settings(f, wc), **sweep_extract_settings(features)} for f in features
    }


sweep_point_dirs = JOBS.sweep_point_dirs


def sweep_point_params(wc):
    return point_settings(config, wc.axis, wc.value)


def sweep_outputs():
    return [
        *sweep_point_dirs(),
        *expand("results/tables/sweep_{axis}.csv", axis=list(SWEEPS)),
        *expand("results/figures/sweep_{axis}.{ext}", axis=list(SWEEPS), ext=["png", "pdf"]),
    ]

# --- combos helper (issue 19, item 2): layer and feature combinations (rules/combinations.smk) ---
COMBINATION_JOBS = JOBS.combinations  # (combination, features label, score label) -> job


combination_dirs = JOBS.combination_dirs


def combination_job(wc):
    return COMBINATION_JOBS[(wc.combination, wc.features, wc.score)]


def combination_inputs(wc):
    """The feature store of each combined feature."""
    return {f: f"results/{wc.model}/{wc.replicate}{wc.dataset}/features/{f}.zarr"
            for f in combination_job(wc)["features"]}  # fmt: skip


def combination_settings(wc):
    """What determines the job's scores: its detectors' hyperparameters (from `detectors:`,
    else defaults) and the combination's own settings (ensemble `folds`); not the other jobs
    of its list, so adding one reruns nothing else."""
    job = combination_job(wc)
    own = config["combinations"][wc.combination]
    return {
        "hparams": {d: config["detectors"].get(d) or {} for d in job["detectors"]},
        **{k: v for k, v in own.items() if k not in ("features", "detectors")},
    }


def auroc_tables():
    """The tables collect_auroc concatenates: one per setting, and the combinations' one."""
    return [*expand("results/tables/auroc_{setting}.parquet", setting=auroc_settings()),
            *(["results/tables/auroc_combinations.parquet"] if COMBINATION_JOBS else [])]  # fmt: skip


# --- controls (issue 28, item 2; docs/statistics.md "Controls"; rules/controls.smk) ---
from quirkymad.core.roles import EASY_UNTRUSTED_ROLES, TEST_ROLES

CONTROLS = config["controls"]
# The base-model negative control: every raw detector scored on activations (transforms are
# fitted on the fine-tuned model's activations; attribution would need a gradient pass).
CONTROL_FEATURES, CONTROL_DETECTORS = JOBS.control_features, JOBS.control_detectors


def control_roles():
    """The records the base control reads: trusted and the test mix, and the easy untrusted
    records only if a detector fits on them (`untrusted: easy`)."""
    easy = any((config["detectors"].get(d) or {}).get("untrusted") == "easy" for d in CONTROL_DETECTORS)
    return ["trusted", *TEST_ROLES, *(EASY_UNTRUSTED_ROLES if easy else ())]


control_jobs = JOBS.control_jobs


def control_outputs():
    if not CONTROLS["enabled"]:
        return []
    return ["results/tables/controls.csv", *sorted({j["base"] for j in control_jobs() if j["base"]})]
