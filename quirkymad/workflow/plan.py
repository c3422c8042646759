"""`quirkymad plan`: what a config will cost before anything runs.

Per stage and in total: jobs, GPU-hours and CPU core-hours, the peak GPU memory of one job, and
disk per artifact kind (stores: records × layers × width × dtype size; adapters; transforms;
scores). Pure arithmetic on the validated config and the model shapes: no torch, no weights.

Costs come from a calibration (`CPU_CALIBRATION`: measured, SmolLM2-135M on 2 cores) scaled by
parameters × examples, and for CUDA from FLOPs at an assumed fraction of the GPU's bf16 peak
(`GpuAssumptions`: an estimate, unverified on a GPU). Record counts are read from
`results/datasets/{dataset}/data.parquet` when it exists, else estimated from `n_base` (an upper
bound for finite sources, which may have fewer questions than `n_base`).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from quirkymad.core.errors import QuirkyError
from quirkymad.core.layers import feature_layers, probe_layers, scored_layers, transform_layers
from quirkymad.core.roles import MAD_ROLES
from quirkymad.models import ModelFacts, model_facts
from quirkymad.transforms.sizing import TransformFit, transform_fit
from quirkymad.workflow.jobs import ATTRIBUTION_PASS, JobRow, JobTable, job_table
from quirkymad.workflow.sweeps import extra_roles

GiB = 2**30
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
STAGES = (
    "models",
    "datasets",
    "finetune",
    "extract",
    "diagnostics",
    "transforms",
    "scoring",
    "analysis",
    "figures",
)

# ---------------------------------------------------------------------------------------------
# Model facts: the model registry's (`ModelSource.facts()`: depth, width, heads, FFN width,
# vocabulary, tied embeddings, sizing), read without importing torch.

ModelShape = ModelFacts


def model_shape(name: str, settings: dict[str, Any] | None) -> ModelShape:
    """Shape of registry model `name` with its config `settings` (the registry's facts)."""
    return model_facts(name, settings)


# ---------------------------------------------------------------------------------------------
# Calibration.

# Measured: the default run (config.yaml: SmolLM2-135M, 3 datasets, <= 200 records per role =
# ~1000 per dataset, 30 steps of 16, 96 validation records evaluated 4 times, quirkiness on
# 2 x 200 records x 2 prompts), fresh clone, `snakemake --cores all` on the 2-core AMD EPYC
# machine, 2026-12-02 (spec/cpu_levers.md, "Speed"). Stage seconds / units of that run.
CPU_CALIBRATION = {
    "source": "measured: default run (SmolLM2-135M, 3 datasets), 2-core AMD EPYC, "
    "2026-12-02 (spec/cpu_levers.md)",
    "model": "smollm2-135m",
    "cores": 2,
    # rule: (seconds measured, units it covered, unit)
    "finetune_adapter": (491.0, 3 * 480, "training example"),
    "extract_activations": (254.0, 3 * 1000, "record"),
    "extract_attribution": (346.0, 3 * 1000, "record"),
    "extract_probe_shift": (356.0, 3 * 1000, "record"),
    "evaluate_quirkiness": (295.0, 3 * 2 * 200 * 2, "prompt"),
    "score_detector": (537.0, 57, "scoring job on ~1000 x 30 x 576 values"),
}
CPU_SCORE_REFERENCE_VALUES = 1000 * 30 * 576
# Small jobs (datasets, tables, figures, collectors) and the floor of every CPU job: Python
# start-up, imports and I/O. An assumption (~10 core-seconds), not measured separately.
CPU_SMALL_JOB_S = 10.0


@dataclass(frozen=True)
class GpuAssumptions:
    """GPU cost model: FLOPs / (peak × utilisation) + loading the weights. Estimate, unverified
    on a GPU (none was available when this was written; bench/gpu_check.sh measures it)."""

    peak_tflops: float = 989.0
    """bf16 dense peak, TFLOP/s (H100 SXM data sheet)."""
    utilisation: float = 0.3
    """Assumed fraction of the peak reached (short prompts, small batches)."""
    load_gb_per_s: float = 2.0
    """Weights read from disk, GB/s."""
    memory_gib: float = 80.0
    """GPU memory per job, for the fit warning."""
    fp32_tflops: float = 67.0
    """float32 dense peak without tensor cores, TFLOP/s (H100/H200 SXM data sheets): the
    transforms (`fit_transform`) train in float32."""
    step_overhead_s: float = 2e-3
    """Kernel launches and Python per Adam step of a transform, seconds (assumed)."""
    peak_tokens: int = 256
    """Longest padded prompt assumed in a micro-batch, for the memory estimate."""


@dataclass(frozen=True)
class PlanOptions:
    tokens_per_example: int = 50
    """Mean prompt tokens (spec/cpu_levers.md: batches of ~50-55 tokens, addition ~35)."""
    gpu: GpuAssumptions = field(default_factory=GpuAssumptions)
    results: Path = Path("results")


# ---------------------------------------------------------------------------------------------
# Record counts.


@dataclass(frozen=True)
class DatasetSize:
    """Records of one dataset that each stage reads."""

    roles: dict[str, int]
    """MAD records per role after `max_per_role` and the 50/50 test balance."""
    n_records: int
    """All records (2 per base question)."""
    n_train_balanced: int
    n_val_balanced: int
    hard_test_per_character: int
    exact: bool
    """True: counted in the built data.parquet; False: estimated from n_base (upper bound)."""

    @property
    def n_mad(self) -> int:
        return sum(self.roles.values())


def _cap_roles(raw: dict[str, int], cap: int) -> dict[str, int]:
    roles = {r: min(raw.get(r, 0), cap) for r in MAD_ROLES}
    n_test = min(roles["test_normal"], roles["test_anomalous"])
    roles["test_normal"] = roles["test_anomalous"] = n_test
    return roles


def estimate_dataset(
    n_base: int, data: dict[str, Any], max_per_role: int, trigger: bool = False
) -> DatasetSize:
    """Expected role sizes of `n_base` questions (datasets/base.py `assign_roles`): names are
    uniform over 16 per character, 4 of them trusted; split and bucket as configured. A
    trigger dataset (`trigger`) has no held-out names: every easy train and hard test record
    takes a role."""
    from quirkymad.core.prompts import ALICE_NAMES, N_TRUSTED_NAMES

    train, val, test = data["split_fractions"]
    easy, hard = data["easy_quantile"], 1 - data["hard_quantile"]
    p_trusted = N_TRUSTED_NAMES / len(ALICE_NAMES)
    easy_train = n_base * train * easy * (1 if trigger else p_trusted)
    hard_test = n_base * test * hard * (1 if trigger else 1 - p_trusted)
    raw = {
        "trusted": int(math.ceil(easy_train / 2)),
        "untrusted_alice": int(easy_train // 2),
        "untrusted_bob": int(easy_train),
        "test_normal": int(hard_test),
        "test_anomalous": int(hard_test),
    }
    return DatasetSize(
        roles=_cap_roles(raw, max_per_role),
        n_records=2 * n_base,
        n_train_balanced=int(2 * n_base * train),
        n_val_balanced=int(2 * n_base * val),
        hard_test_per_character=int(hard_test),
        exact=False,
    )


def count_dataset(parquet: Path, max_per_role: int) -> DatasetSize:
    """Role and split sizes counted in a built dataset (reads the columns roles need)."""
    import pandas as pd

    from quirkymad.core.prompts import cue_columns, trusted_context

    cols = ["split", "character", "label", "role", "bucket", "name_index", *cue_columns(parquet)]
    df = pd.read_parquet(parquet, columns=cols)

    def balanced(split: str) -> int:
        part = df[df["split"] == split]
        counts = part.groupby(["character", "label"]).size().unstack(fill_value=0)
        return int(2 * counts.min(axis=1).sum()) if counts.shape[1] == 2 else 0

    hard_test = df[(df["split"] == "test") & (df["bucket"] == "hard") & ~trusted_context(df)]
    return DatasetSize(
        roles=_cap_roles(df["role"].value_counts().to_dict(), max_per_role),
        n_records=len(df),
        n_train_balanced=balanced("train"),
        n_val_balanced=balanced("val"),
        hard_test_per_character=int(hard_test["character"].value_counts().max()),
        exact=True,
    )


def dataset_size(name: str, config: dict[str, Any], results: Path) -> DatasetSize:
    parquet = results / "datasets" / name / "data.parquet"
    cap = config["extract"]["max_per_role"]
    if parquet.is_file():
        return count_dataset(parquet, cap)
    from quirkymad.datasets.triggers import split_variant

    trigger = split_variant(name)[1] == "trigger"
    return estimate_dataset(int(config["datasets"][name]["n_base"]), config["data"], cap, trigger)


# ---------------------------------------------------------------------------------------------
# Jobs.


@dataclass
class Job:
    stage: str
    rule: str
    model: str | None = None
    dataset: str | None = None
    gpu_s: float = 0.0
    cpu_core_s: float = 0.0
    gpu_mem: float = 0.0
    """Peak GPU memory of the job, bytes (0 = CPU job)."""
    disk: dict[str, float] = field(default_factory=dict)
    """Bytes written per artifact kind."""


# Disk constants, read off the artifacts of the tiny end-to-end run (tests/data/tiny.yaml:
# 2 layers, d=64, float32 stores, 2026-12-02); tests/test_plan.py checks another shape and
# dtype against them: per-record coordinates (ids, names, roles, ... zstd-compressed), the
# fixed metadata of a Zarr store (zarr.json with consolidated metadata, 20 arrays) and of each
# further array, a dataset record in Parquet, a scoring directory per scored value.
STORE_BYTES_PER_RECORD = 25.0
STORE_FIXED_BYTES = 34_000.0
STORE_BYTES_PER_ARRAY = 1_500.0  # each array beyond the activation store's 20
DATASET_BYTES_PER_RECORD = 40.0
SCORE_BYTES_PER_VALUE = 8.0
SCORE_FIXED_BYTES = 14_000.0
ADAPTER_FIXED_BYTES = 10_000.0
SMALL_OUTPUT_BYTES = {"tables": 200_000.0, "figures": 300_000.0, "diagnostics": 100_000.0}
SEPARATION_BYTES = 20_000.0  # one model × dataset's separation tables


def store_bytes(n_records: int, per_record_values: int, dtype_bytes: int, extra: float = 0):
    """A Zarr store: records × values per record × dtype size, per-record coordinates, fixed
    metadata, plus `extra` bytes of small arrays (μ, probes)."""
    return (
        n_records * (per_record_values * dtype_bytes + STORE_BYTES_PER_RECORD)
        + STORE_FIXED_BYTES
        + extra
    )


class CostModel:
    """Seconds per job: CPU from `CPU_CALIBRATION` scaled by parameters × units; GPU from FLOPs."""

    def __init__(self, options: PlanOptions, on_gpu: bool):
        self.o, self.on_gpu = options, on_gpu
        self.ref_params = model_shape(CPU_CALIBRATION["model"], {}).params

    def model_job(self, job: Job, rule: str, shape: ModelShape, units: float, flops: float):
        """Fill `job` for a model job covering `units` calibration units and `flops` FLOPs."""
        if self.on_gpu:
            g = self.o.gpu
            load = shape.params * 2 / (g.load_gb_per_s * 1e9)
            job.gpu_s = flops / (g.peak_tflops * 1e12 * g.utilisation) + load
        else:
            secs, covered, _ = CPU_CALIBRATION[rule]
            tokens = self.o.tokens_per_example / 50
            scaled = secs / covered * units * shape.params / self.ref_params * tokens
            job.cpu_core_s = max(CPU_SMALL_JOB_S, scaled * CPU_CALIBRATION["cores"])

    def score_job(self, job: Job, values: float) -> None:
        secs, covered, _ = CPU_CALIBRATION["score_detector"]
        per_job = secs / covered * CPU_CALIBRATION["cores"]
        job.cpu_core_s = per_job * max(1.0, values / CPU_SCORE_REFERENCE_VALUES)


def _gpu_memory(shape: ModelShape, kind: str, batch: int, g: GpuAssumptions, r: int = 8):
    """Peak bytes of one job: bf16 weights + working memory (+ LoRA state for training).

    Training activations: 34 · tokens · d_model bytes per layer (bf16, no recomputation;
    Korthikanti et al. 2022, eq. 1 without the attention-score term, small for short prompts).
    Inference: the MLP intermediate and residual copies of one layer, plus the KV cache.
    """
    weights = shape.params * 2
    tokens = batch * g.peak_tokens
    context = 0.5 * GiB  # CUDA context + allocator slack
    kv_cache = 2 * shape.n_layers * shape.n_kv_heads * shape.head_dim * tokens * 2
    if kind == "train":
        lora = shape.lora_params(r) * (4 + 4 + 8)  # fp32 weight, grad, AdamW moments
        acts = 34 * tokens * shape.d_model * shape.n_layers
        logits = batch * shape.vocab * 4
        return weights + lora + acts + logits + context
    work = tokens * (4 * shape.d_model + 3 * shape.d_ff) * 2
    if kind == "attribution":  # grad through the last token on top of the cached prefix
        work += batch * 34 * shape.d_model * shape.n_layers
    return weights + work + kv_cache + context


@dataclass(frozen=True)
class _Run:
    """What every row's cost needs: the config, its job table and the facts derived once."""

    config: dict[str, Any]
    options: PlanOptions
    cost: CostModel
    table: JobTable
    shapes: dict[str, ModelShape]
    sizes: dict[str, DatasetSize]

    @property
    def on_gpu(self) -> bool:
        return self.cost.on_gpu

    def feature_layers(self, feature: str, depth: int) -> list[int]:
        """Layers of a feature's store (`quirkymad.core.layers.feature_layers`, as the rules)."""
        return feature_layers(self.config, feature, depth)

    def swept(self, feature: str) -> int:
        """Records the sweeps need beyond the MAD roles (issue 20): max_per_role per role."""
        return len(extra_roles(self.config, feature)) * self.config["extract"]["max_per_role"]


def _prepare_model(run: _Run, row: JobRow, shape: ModelShape, size: None) -> Job:
    return Job("models", "prepare_model", row.model, cpu_core_s=CPU_SMALL_JOB_S,
               disk={"models": shape.params * shape.prepared_bytes_per_param})  # fmt: skip


def _build_dataset(run: _Run, row: JobRow, shape: None, size: DatasetSize) -> Job:
    return Job("datasets", "build_dataset", None, row.dataset, cpu_core_s=CPU_SMALL_JOB_S,
               disk={"datasets": size.n_records * DATASET_BYTES_PER_RECORD})  # fmt: skip


def _finetune(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """`finetune_adapter` at its maximum epochs (early stopping ignored)."""
    from quirkymad.workflow.config import finetune_settings

    ft = finetune_settings(run.config, row.dataset)
    cap = ft.get("max_train_examples")
    n_train = min(size.n_train_balanced, cap) if cap else size.n_train_balanced
    n_val = min(size.n_val_balanced, ft["max_val_examples"])
    steps = max(1, round(math.ceil(n_train / ft["batch_size"]) * ft["epochs"]))
    every = ft.get("eval_every") or 0
    n_evals = (steps // every if every else int(math.log2(steps)) + 1) + 1  # + step 0
    examples = steps * ft["batch_size"]
    adapter = shape.lora_params(ft["lora_r"]) * 4 + ADAPTER_FIXED_BYTES
    job = Job("finetune", "finetune_adapter", row.model, row.dataset, disk={"adapters": adapter})
    n, T = shape.params, run.options.tokens_per_example
    flops = 4 * n * T * examples + 2 * n * T * n_val * n_evals
    run.cost.model_job(job, "finetune_adapter", shape, examples, flops)
    if run.on_gpu:
        micro = ft.get("micro_batch_size") or ft["batch_size"]
        job.gpu_mem = _gpu_memory(shape, "train", micro, run.options.gpu, ft["lora_r"])
    return job


def _activations(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """A forward-only activation store of the run's activation layers: the MAD records (+ the
    sweeps'), the trusted records of the base model (`train_on: base`), or the base model's
    trusted and test records (the negative control, issue 28)."""
    records = {
        "extract_activations": size.n_mad + run.swept("activations"),
        "extract_base_activations": size.roles["trusted"],
        "extract_control_activations": size.roles["trusted"] + 2 * size.roles["test_normal"],
    }[row.rule]
    ex = run.config["extract"]
    width = len(run.feature_layers("activations", shape.n_layers)) * shape.d_model
    disk = store_bytes(records, width, DTYPE_BYTES[ex["store_dtype"]])
    job = Job("extract", row.rule, row.model, row.dataset, disk={"activation stores": disk})
    flops = 2 * shape.params * run.options.tokens_per_example * records
    run.cost.model_job(job, "extract_activations", shape, records, flops)
    if run.on_gpu:
        job.gpu_mem = _gpu_memory(shape, "forward", ex["batch_size"], run.options.gpu)
    return job


def _attribution(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """`extract_attribution` (attribution and its variants from one shared μ and gradient
    pass, costed as its stores' separate calibrations added: an upper bound, the shared pass
    has not been re-measured) or `extract_probe_shift` (its own job)."""
    job = Job("extract", row.rule, row.model, row.dataset)
    wanted = ATTRIBUTION_PASS if row.rule == "extract_attribution" else ("probe_shift",)
    for feature in wanted:
        if feature in run.config["features"]:
            _add_attribution_store(run, job, feature, shape, size)
    return job


def _add_attribution_store(run: _Run, job: Job, feature: str, shape: ModelShape,
                           size: DatasetSize) -> None:  # fmt: skip
    """Add one attribution-type store's disk, CPU and GPU cost to the job writing it."""
    ex, g = run.config["extract"], run.options.gpu
    dtype, batch = DTYPE_BYTES[ex["store_dtype"]], ex["batch_size"]
    n, T = shape.params, run.options.tokens_per_example
    mad, trusted = size.n_mad, size.roles["trusted"]
    fl = run.feature_layers(feature, shape.n_layers)
    mean_cap = min(run.config["features"][feature]["mean_cap"], trusted)
    mu = len(fl) * shape.d_model * 4  # trusted_mean (layer, d_attn) float32
    if feature.startswith("attribution_"):  # variants: from attribution's gradient pass
        values = _feature_values(run, feature, shape)[0]
        k = values // max(1, len(fl) * shape.n_heads)  # pcs: directions per layer
        extra = (mu * (1 + k) + 3 * STORE_BYTES_PER_ARRAY) if k > 1 else 0.0
        kind = f"{feature.replace('_', '-')} stores"
        job.disk[kind] = store_bytes(mad, values, dtype, extra)
        return
    if feature == "attribution":  # one array beside the activation store's
        values, extra, probes = len(fl) * shape.n_heads, mu + STORE_BYTES_PER_ARRAY, 0
    else:  # (probe layer, column) zero-padded to H·|L|; mask, column names, float64 probes
        cols = shape.n_heads * len(fl)
        probes = len(probe_layers(fl))
        values = probes * cols
        extra = mu + probes * (cols + shape.d_model * 8) + cols * 16
        extra += 7 * STORE_BYTES_PER_ARRAY
    kind = f"{feature.replace('_', '-')} stores"
    recs = mad + run.swept(feature)
    part = Job(job.stage, job.rule, job.model, job.dataset)
    # μ pass + forward over all records + one-token backward per record and probe.
    flops = 2 * n * T * (recs + mean_cap) + 4 * n * recs * (1 + probes)
    run.cost.model_job(part, f"extract_{feature}", shape, recs, flops)
    job.disk[kind] = store_bytes(recs, values, dtype, extra)
    job.cpu_core_s += part.cpu_core_s
    job.gpu_s += part.gpu_s
    job.gpu_mem = _gpu_memory(shape, "attribution", batch, g) if run.on_gpu else 0.0


def _quirkiness(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """`evaluate_quirkiness`: hard test records per character (capped), own + opposing prompt."""
    cap = run.config["diagnostics"]["max_per_character"]
    prompts = 2 * 2 * min(size.hard_test_per_character, cap)
    job = Job("diagnostics", "evaluate_quirkiness", row.model, row.dataset,
              disk={"diagnostics": prompts * 50.0 + 20_000})  # fmt: skip
    flops = 2 * shape.params * run.options.tokens_per_example * prompts
    run.cost.model_job(job, "evaluate_quirkiness", shape, prompts, flops)
    if run.on_gpu:
        job.gpu_mem = _gpu_memory(shape, "forward", run.config["extract"]["batch_size"],
                                  run.options.gpu)  # fmt: skip
    return job


def transform_fit_seconds(fit: TransformFit, on_gpu: bool, steps: int,
                          gpu: GpuAssumptions | None = None) -> float:  # fmt: skip
    """Seconds of one `fit_transform` job (an estimate): on CUDA its FLOPs at `utilisation` of
    the GPU's float32 peak (transforms train in float32, off the bf16 tensor cores) plus
    `step_overhead_s` per Adam step and layer (small kernels: launch-bound); on the CPU, core-
    seconds at the calibration's per-core forward rate (6 × parameters FLOPs per example)."""
    if on_gpu:
        g = gpu or GpuAssumptions()
        compute = fit.train_flops / (g.fp32_tflops * 1e12 * g.utilisation)
        return compute + g.step_overhead_s * steps * fit.n_layers
    ref = model_shape(CPU_CALIBRATION["model"], {}).params
    rate = 2 * ref * 3000 / 254.0 * 50 / CPU_CALIBRATION["cores"]
    return CPU_SMALL_JOB_S + fit.train_flops / rate


def _transform(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """`fit_transform`: on the GPU when the run is on CUDA (GPU seconds and memory), else CPU
    core-seconds (`transforms/sizing.py`)."""
    spec = run.table.transforms[row.transform]
    tl = transform_layers(spec["layers"], shape.n_layers)
    fit = transform_fit(row.transform, spec, shape.d_model, len(tl), size.roles["trusted"],
                        size.n_mad, run.on_gpu)  # fmt: skip
    secs = transform_fit_seconds(fit, run.on_gpu, spec["steps"], run.options.gpu)
    job = Job("transforms", "fit_transform", row.model, row.dataset, gpu_mem=fit.gpu_bytes,
              disk={"transforms": fit.weight_bytes + 10_000})  # fmt: skip
    if run.on_gpu:
        job.gpu_s = secs
    else:
        job.cpu_core_s = secs
    return job


def _feature_values(run: _Run, f: str, shape: ModelShape) -> tuple[int, int]:
    """(values per record, scored layers) of feature `f`'s store."""
    fl = run.feature_layers(f, shape.n_layers)
    if f == "activations":
        return len(fl) * shape.d_model, len(fl)
    if f in ("attribution", "attribution_grad_norm"):
        return len(fl) * shape.n_heads, len(fl)
    if f == "attribution_pcs":
        k = run.config["features"][f]["n_components"]
        return len(fl) * k * shape.n_heads, len(fl)
    scored = len(scored_layers(f, fl))  # probe shift: its probe layers, padded to H·|L| columns
    return scored * shape.n_heads * len(fl), scored


def _score(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """`score_detector` and `score_control`, on the CPU, scaled by the values the detector
    reads (records × layers × width); the control reads the base store's records (an upper
    bound: the easy untrusted records are left out unless a detector fits on them)."""
    per_record, layers = _feature_values(run, row.feature, shape)
    n_test = 2 * size.roles["test_normal"]
    records = size.n_mad if row.rule == "score_detector" else size.roles["trusted"] + n_test
    scores = SCORE_FIXED_BYTES + n_test * (layers + 1) * SCORE_BYTES_PER_VALUE
    job = Job("scoring", row.rule, row.model, row.dataset, disk={"scores": scores})
    run.cost.score_job(job, records * per_record)
    return job


def _sweep_point(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """`score_sweep_point` (issue 20; quirkymad/scoring/sweeps.py): a scoring job per draw of the
    point (an upper bound: its sets are subsets of the store's records)."""
    axis, value = row.key
    draws = 1 if value == "all" else run.table.sweeps[axis].get("draws", 1)
    job = Job("scoring", "score_sweep_point", row.model, row.dataset,
              disk={"scores": SCORE_FIXED_BYTES})  # fmt: skip
    run.cost.score_job(job, size.n_mad * _feature_values(run, row.feature, shape)[0])
    job.cpu_core_s *= draws
    return job


def _combination(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """`score_combination` (quirkymad/scoring/combinations.py), costed as a scoring job over the values
    it reads: all layers of its stores (merge: on their shared layers), times members ×
    (1 + folds) fits for an ensemble."""
    spec = run.table.combinations[row.key]
    per_record, rows = 0, 1
    for f in spec["features"]:
        values, layers = _feature_values(run, f, shape)
        per_record, rows = per_record + values, layers + 1
    fits = 1
    if spec["combination"] == "ensemble":
        fits = len(spec["detectors"]) * (1 + run.config["combinations"]["ensemble"]["folds"])
    n_rows = 1 if spec["combination"] == "concat" else rows
    n_test = 2 * size.roles["test_normal"]
    scores = SCORE_FIXED_BYTES + n_test * n_rows * SCORE_BYTES_PER_VALUE
    job = Job("scoring", "score_combination", row.model, row.dataset, disk={"scores": scores})
    run.cost.score_job(job, size.n_mad * per_record * fits)
    return job


def _explain(run: _Run, row: JobRow, shape: ModelShape, size: DatasetSize) -> Job:
    """`explain_scores`, costed as the scoring job it explains (bench/explain.py: equal)."""
    per_job = CPU_CALIBRATION["score_detector"][0] / CPU_CALIBRATION["score_detector"][1]
    return Job("analysis", "explain_scores", row.model, row.dataset, disk={"tables": 500_000.0},
               cpu_core_s=per_job * CPU_CALIBRATION["cores"])  # fmt: skip


def _small_job(stage: str, kind: str | None = None, nbytes: float | None = None):
    """A short CPU job with a fixed output size (per model × dataset, or run-wide): `nbytes`
    counted under `kind`, by default that kind's `SMALL_OUTPUT_BYTES`."""

    def cost(run: _Run, row: JobRow, shape: Any, size: Any) -> Job:
        disk = {kind: SMALL_OUTPUT_BYTES[kind] if nbytes is None else nbytes} if kind else {}
        return Job(stage, row.rule, row.model, row.dataset, cpu_core_s=CPU_SMALL_JOB_S, disk=disk)

    return cost


# What each rule's job costs; `plan_jobs` fails on a rule missing here (tests/test_plan.py).
ROW_COSTS = {
    "prepare_model": _prepare_model,
    "build_dataset": _build_dataset,
    "finetune_adapter": _finetune,
    "plot_loss_curve": _small_job("finetune"),
    "extract_activations": _activations,
    "extract_base_activations": _activations,
    "extract_control_activations": _activations,
    "extract_attribution": _attribution,
    "extract_probe_shift": _attribution,
    "evaluate_quirkiness": _quirkiness,
    "fit_transform": _transform,
    "score_detector": _score,
    "score_control": _score,
    "score_sweep_point": _sweep_point,
    "score_combination": _combination,
    "analyze_separation": _small_job("analysis", "tables", SEPARATION_BYTES),
    "explain_scores": _explain,
    "collect_quirkiness": _small_job("diagnostics", "tables"),
    "collect_separation": _small_job("analysis", "tables"),
    "collect_auroc_setting": _small_job("scoring", "tables"),
    "collect_auroc_combinations": _small_job("scoring", "tables"),
    "collect_auroc": _small_job("scoring", "tables"),
    "summarize_auroc": _small_job("scoring", "tables"),
    "collect_controls": _small_job("scoring", "tables"),
    "summarize_seeds": _small_job("scoring", "tables"),
    "collect_explanations": _small_job("analysis", "tables"),
    "compare_scores": _small_job("analysis", "tables"),
    "reference_comparison": _small_job("analysis", "tables"),
    "collect_sweep": _small_job("scoring", "tables"),
    "plot_figure": _small_job("figures", "figures"),
    "all": lambda run, row, shape, size: Job("figures", "all"),
}


def plan_jobs(config: dict[str, Any], options: PlanOptions) -> tuple[list[Job], dict]:
    """Every job of the workflow (the job table's rows, `quirkymad/workflow/jobs.py`, which
    are `snakemake -n`'s jobs) with its cost, GPU memory and disk; plus facts for the header."""
    table = job_table(config)
    on_gpu = str(config["device"]).startswith("cuda")
    run = _Run(
        config, options, CostModel(options, on_gpu), table,
        shapes={m: model_shape(m, s) for m, s in config["models"].items()},
        sizes={ds: dataset_size(ds, config, options.results) for ds in config["datasets"]},
    )  # fmt: skip
    missing = sorted({r.rule for r in table.rows} - set(ROW_COSTS))
    if missing:
        raise QuirkyError(f"quirkymad plan: no cost for rule(s) {', '.join(missing)}")
    jobs = [
        ROW_COSTS[r.rule](run, r, run.shapes.get(r.model), run.sizes.get(r.dataset))
        for r in table.rows
    ]
    facts = {
        "device": str(config["device"]),
        "on_gpu": on_gpu,
        "sizes": run.sizes,
        "models": list(run.shapes),
        "datasets": list(run.sizes),
    }
    return jobs, facts


# ---------------------------------------------------------------------------------------------
# Output.


def fmt_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", GiB), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def summarise(jobs: Sequence[Job]) -> dict[str, dict[str, Any]]:
    """Per stage: jobs, GPU-hours, CPU core-hours, max GPU memory of a job, disk bytes."""
    out: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        own = [j for j in jobs if j.stage == stage]
        out[stage] = {
            "jobs": len(own),
            "gpu_h": sum(j.gpu_s for j in own) / 3600,
            "cpu_h": sum(j.cpu_core_s for j in own) / 3600,
            "gpu_mem": max((j.gpu_mem for j in own), default=0.0),
            "disk": sum(sum(j.disk.values()) for j in own),
        }
    return out


def disk_by_kind(jobs: Sequence[Job]) -> dict[str, float]:
    kinds: dict[str, float] = {}
    for j in jobs:
        for k, v in j.disk.items():
            kinds[k] = kinds.get(k, 0.0) + v
    return kinds


def warnings_for(jobs: Sequence[Job], options: PlanOptions, free: float | None) -> list[str]:
    """Jobs that will not fit the GPU memory; a total that will not fit the free disk."""
    limit = options.gpu.memory_gib * GiB
    worst: dict[tuple[str, str], Job] = {}
    for j in jobs:
        if j.gpu_mem > limit:
            key = (j.rule, j.model or "")
            if key not in worst or j.gpu_mem > worst[key].gpu_mem:
                worst[key] = j
    fix = {"fit_transform": "the transform's expansion / hidden / batch_size"}
    out = [
        f"WARNING: {rule} on {m} needs ~{fmt_bytes(j.gpu_mem)} of GPU memory > "
        f"{options.gpu.memory_gib:g} GiB (--gpu-mem-gib); lower "
        f"{fix.get(rule, 'its micro_batch_size / extract.batch_size')} or use a bigger GPU"
        for (rule, m), j in sorted(worst.items())
    ]
    total = sum(disk_by_kind(jobs).values())
    if free is not None and total > free:
        out.append(
            f"WARNING: artifacts need ~{fmt_bytes(total)} but only {fmt_bytes(free)} "
            f"is free under {options.results}"
        )
    return out


def free_disk(path: Path) -> float | None:
    """Free bytes on the filesystem that will hold `path` (its nearest existing parent)."""
    p = path.resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return float(shutil.disk_usage(p).free)
    except OSError:
        return None


def render(
    config_name: str, jobs: Sequence[Job], facts: dict, options: PlanOptions, free: float | None
) -> str:
    g = options.gpu
    sizes: dict[str, DatasetSize] = facts["sizes"]
    lines = [
        f"quirkymad plan: {config_name}: {len(facts['models'])} model(s) x "
        f"{len(facts['datasets'])} dataset(s), device {facts['device']}",
        "",
        f"{'stage':<12} {'jobs':>5} {'GPU-h':>8} {'CPU-h':>8} {'GPU mem/job':>12} {'disk':>10}",
    ]
    table = summarise(jobs)
    for stage, row in table.items():
        mem = fmt_bytes(row["gpu_mem"]) if row["gpu_mem"] else "-"
        lines.append(
            f"{stage:<12} {row['jobs']:>5} {row['gpu_h']:>8.1f} {row['cpu_h']:>8.1f} "
            f"{mem:>12} {fmt_bytes(row['disk']):>10}"
        )
    tot = {k: sum(r[k] for r in table.values()) for k in ("jobs", "gpu_h", "cpu_h", "disk")}
    peak = max(r["gpu_mem"] for r in table.values())
    lines.append(
        f"{'total':<12} {tot['jobs']:>5} {tot['gpu_h']:>8.1f} {tot['cpu_h']:>8.1f} "
        f"{fmt_bytes(peak) if peak else '-':>12} {fmt_bytes(tot['disk']):>10}"
    )
    lines += ["", "disk by artifact kind:"]
    for kind, n in sorted(disk_by_kind(jobs).items(), key=lambda kv: -kv[1]):
        lines.append(f"  {kind:<24} {fmt_bytes(n):>10}")
    lines += ["", "MAD records per (model, dataset) store (trusted / untrusted / test):"]
    for ds, s in sizes.items():
        r = s.roles
        how = "counted in data.parquet" if s.exact else "estimated from n_base"
        lines.append(
            f"  {ds:<16} {s.n_mad:>6} ({r['trusted']} / "
            f"{r['untrusted_alice'] + r['untrusted_bob']} / "
            f"{r['test_normal'] + r['test_anomalous']}), {how}"
        )
    lines += ["", "calibration:"]
    lines.append(
        f"  CPU: {CPU_CALIBRATION['source']}; scaled by parameters x examples x "
        f"tokens ({options.tokens_per_example} tokens/example assumed); CPU-h = "
        f"core-hours"
    )
    if facts["on_gpu"]:
        lines.append(
            f"  GPU: estimate, unverified on GPU: FLOPs (training 4N, forward 2N per "
            f"token) at {g.utilisation:.0%} of {g.peak_tflops:g} TFLOP/s bf16 + weights "
            f"read at {g.load_gb_per_s:g} GB/s; memory: bf16 weights + activations "
            f"for {g.peak_tokens}-token prompts; transforms: float32 at "
            f"{g.fp32_tflops:g} TFLOP/s + {g.step_overhead_s * 1e3:g} ms per step"
        )
    lines.append(
        "  not counted: early stopping (fine-tuning is costed at its maximum epochs); "
        "finite sources with fewer questions than n_base when not yet built"
    )
    warn = warnings_for(jobs, options, free)
    if free is not None:
        lines.append(f"  free disk under {options.results}: {fmt_bytes(free)}")
    return "\n".join(lines + ([""] + warn if warn else [])) + "\n"


def load_config(*paths: str | Path) -> dict[str, Any]:
    """Parse and validate a config, with the schema's defaults filled (models not checked).
    Several files are merged as Snakemake merges `--configfile a b` (later keys over earlier,
    nested mappings key by key), e.g. `config.yaml config/seeds.yaml`."""
    from snakemake.utils import update_config

    from quirkymad.workflow.config import check_config

    config: dict[str, Any] = {}
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise QuirkyError(f"plan: cannot read {path}: {exc.strerror}") from None
        update_config(
            config,
            yaml.load(text, Loader=getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader) or {},
        )
    check_config(config, source=" + ".join(map(str, paths)), check_models=False, set_defaults=True)
    return config


def add_arguments(p: argparse.ArgumentParser) -> None:
    d, g = PlanOptions(), GpuAssumptions()
    p.add_argument("--configfile", nargs="+", default=["config.yaml"],
                   help="the config to plan; several are merged as Snakemake merges them")  # fmt: skip
    p.add_argument(
        "--results",
        default=str(d.results),
        help="results folder (built datasets are counted exactly; free disk)",
    )
    p.add_argument(
        "--gpu-mem-gib",
        type=float,
        default=g.memory_gib,
        help="GPU memory per job, for the fit warning",
    )
    p.add_argument(
        "--gpu-tflops", type=float, default=g.peak_tflops, help="bf16 peak of the GPU, TFLOP/s"
    )
    p.add_argument(
        "--gpu-utilisation",
        type=float,
        default=g.utilisation,
        help="assumed fraction of the peak reached",
    )
    p.add_argument("--tokens-per-example", type=int, default=d.tokens_per_example)


def run(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    config = load_config(*args.configfile)
    gpu = GpuAssumptions(
        peak_tflops=args.gpu_tflops, utilisation=args.gpu_utilisation, memory_gib=args.gpu_mem_gib
    )
    options = PlanOptions(args.tokens_per_example, gpu, Path(args.results))
    jobs, facts = plan_jobs(config, options)
    free = free_disk(options.results)
    out.write(render(" + ".join(args.configfile), jobs, facts, options, free))
    return 0


def artifact_bytes(path: str | Path) -> int:
    """Bytes of an artifact: a file's size, or the sum of the files under a directory (what
    the estimates model; directory entries and block rounding are not counted)."""
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quirkymad plan", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
