"""The job table: every job of the workflow, as `snakemake -n` lists it, from the config alone.

One row per job: its rule, its wildcards and one of its outputs (the path `rules/*.smk`
writes, which Snakemake needs written there as a pattern). `rules/common.smk` takes its
target lists and the collect jobs' inputs from the table, `quirkymad plan` costs its rows,
and `tests/test_job_table.py` checks that the rows are the DAG's jobs, one for one, on the
default, paper, rehearsal and test configs. A new rule is a row here (and a cost in
`quirkymad/workflow/plan.py`); nothing else enumerates jobs (issue 29).

Torch-free: it reads the checked config (`quirkymad.workflow.config.check_config` fills defaults).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from quirkymad.detectors.params import OFFLINE_DETECTORS
from quirkymad.workflow.config import (
    combination_jobs,
    control_detectors,
    explain_jobs,
    replicate_dir,
    replicate_seed,
    replicate_seeds,
    transform_specs,
)
from quirkymad.workflow.sweeps import sweep_points, sweep_specs

# Attribution and [B1]'s variants come from one shared pass (`extract_attribution`); probe
# shift has its own job (issue 31).
ATTRIBUTION_PASS = ("attribution", "attribution_pcs", "attribution_grad_norm")

# The run-wide jobs with one output each, in the order they are listed.
RUN_TABLES = {
    "collect_quirkiness": "results/tables/quirkiness.parquet",
    "collect_separation": "results/tables/separation_summary.parquet",
    "collect_auroc_combinations": "results/tables/auroc_combinations.parquet",
    "collect_auroc": "results/tables/auroc.parquet",
    "summarize_auroc": "results/tables/auroc_summary_overall.csv",
    "reference_comparison": "results/tables/reference_comparison.csv",
    "compare_scores": "results/tables/comparisons.parquet",
    "summarize_seeds": "results/tables/auroc_seeds.parquet",
    "collect_controls": "results/tables/controls.parquet",
}


@dataclass(frozen=True)
class JobRow:
    """One job: its rule, one output path, and the wildcards it is keyed by (None where the
    rule has no such level; `replicate` is "" for the run's own seed, "seed{n}/" else)."""

    rule: str
    output: str
    model: str | None = None
    dataset: str | None = None
    replicate: str | None = None
    feature: str | None = None
    transform: str | None = None
    detector: str | None = None
    key: tuple[str, ...] = ()
    """The rule's other wildcards: (axis, value) of a sweep point, (combination, features
    label, score label) of a combination, (figure,), (setting,), (axis,) of a sweep table."""


def select_pairs(
    comparisons: Mapping[str, Mapping[str, str]], configured: set[str]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Split the `comparisons:` config into pairs whose two scores are both scored in this run
    (`configured`: the run's `feature/transform/detector` names) and skipped ones, each with
    its reason. Skipping, not rejecting, lets one default list serve runs with and without
    transforms or QUE."""
    kept, skipped = {}, {}
    for pair, spec in comparisons.items():
        missing = [spec[k] for k in ("a", "b") if spec[k] not in configured]
        if missing:
            skipped[pair] = f"not scored in this run: {', '.join(missing)}"
        else:
            kept[pair] = {"a": spec["a"], "b": spec["b"]}
    return kept, skipped


@dataclass
class JobTable:
    """The config's jobs (`rows`) and the lists they are built from."""

    config: dict[str, Any]
    models: list[str]
    datasets: list[str]
    features: list[str]
    transforms: dict[str, dict[str, Any]]
    """`transforms:` with their schema defaults (`quirkymad.workflow.config.transform_specs`)."""
    scores: list[tuple[str, str]]
    """Scored (transform, detector) pairs: every plain detector on raw features, and each
    transform's own detector list on its outputs."""
    transform_features: list[str]
    """Transforms (flow, SAE) model the residual stream (spec §5): only activations go
    through them; attribution and probe shift are scored raw."""
    seeds: list[int]
    replicates: list[str]
    primary_replicate: str
    """Sweeps and combinations score the run's own seed only (not every replicate)."""
    explain: list[tuple[str, str, str]]
    combinations: dict[tuple[str, str, str], dict[str, Any]]
    """(combination, features label, score label) -> `quirkymad.workflow.config.combination_jobs` entry."""
    sweeps: dict[str, dict[str, Any]]
    sweep_points: list[tuple[str, str, str, str]]
    """(axis, feature, detector, value label) of every point, per model × dataset."""
    control_features: list[str]
    control_detectors: list[str]
    rows: list[JobRow] = field(default_factory=list)
    comparisons: dict[str, dict[str, str]] = field(default_factory=dict)
    comparisons_skipped: dict[str, str] = field(default_factory=dict)

    # --- the rows of one rule, and the paths the rules' inputs read -------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "rows":  # `rows = …` and `rows += …` alike: the index is rebuilt on next use
            self.__dict__.pop("_rows_by_rule", None)

    @functools.cached_property
    def _rows_by_rule(self) -> dict[str, list[JobRow]]:
        """`rows` by rule, each rule's in table order; built once per assignment of `rows`."""
        by_rule: dict[str, list[JobRow]] = {}
        for r in self.rows:
            by_rule.setdefault(r.rule, []).append(r)
        return by_rule

    def of(self, rule: str) -> list[JobRow]:
        """The rows of `rule`, in table order (a new list)."""
        return list(self._rows_by_rule.get(rule, ()))

    def score_dirs(
        self,
        setting: str | None = None,
        features: Iterable[str] | None = None,
        detectors: Iterable[str] | None = None,
        transforms: Iterable[str] | None = None,
    ) -> list[str]:
        """Scoring jobs' directories (each with scores.parquet and auroc.parquet), optionally
        only those of one setting ("online", "offline") / features / detectors / transforms,
        so that a figure depends on exactly the scores it shows."""
        return [
            r.output
            for r in self.of("score_detector")
            if (features is None or r.feature in features)
            and (detectors is None or r.detector in detectors)
            and (transforms is None or r.transform in transforms)
            and (setting is None or (r.detector in OFFLINE_DETECTORS) == (setting == "offline"))
        ]

    def auroc_settings(self) -> list[str]:
        """The settings ("online", "offline") with at least one scoring job."""
        return [s for s in ("online", "offline") if self.score_dirs(s)]

    def explain_dirs(self, jobs: Sequence[tuple[str, str, str]]) -> list[str]:
        """The explanation jobs' directories of the (feature, transform, detector) `jobs`."""
        wanted = set(jobs)
        return [r.output for r in self.of("explain_scores")
                if (r.feature, r.transform, r.detector) in wanted]  # fmt: skip

    def sweep_point_dirs(self, axis: str | None = None) -> list[str]:
        return [r.output for r in self.of("score_sweep_point") if axis in (None, r.key[0])]

    def combination_dirs(self) -> list[str]:
        return [r.output for r in self.of("score_combination")]

    def adapter_jobs(self) -> list[dict[str, Any]]:
        """Every fine-tune: model, dataset, replicate seed and adapter directory (the AUROC
        collection joins in its `quirky` flag; quirkymad/finetune/acceptance.py, issue 28)."""
        return [{"model": r.model, "dataset": r.dataset,
                 "seed": replicate_seed(r.replicate, self.config), "adapter": r.output}
                for r in self.of("finetune_adapter")]  # fmt: skip

    def comparison_jobs(self) -> list[dict[str, Any]]:
        """One entry per model × seed × dataset × kept pair, with both scoring directories."""
        many = len(self.seeds) > 1
        return [
            {
                "model": m,
                "dataset": ds,
                **({"seed": s} if many else {}),
                "pair": pair,
                **spec,
                "a_dir": f"results/{m}/{replicate_dir(s, self.config)}{ds}/scores/{spec['a']}",
                "b_dir": f"results/{m}/{replicate_dir(s, self.config)}{ds}/scores/{spec['b']}",
            }
            for m in self.models
            for s in self.seeds
            for ds in self.datasets
            for pair, spec in self.comparisons.items()
        ]

    def control_dir(self, row: JobRow) -> str | None:
        """The base control's scoring directory of a main scoring job, or None if it has none."""
        if (row.transform != "none" or row.feature not in self.control_features
                or row.detector not in self.control_detectors):  # fmt: skip
            return None
        return _control_score_dir(row.model, row.dataset, row.feature, row.detector)

    def control_jobs(self) -> list[dict[str, str | None]]:
        """One entry per main scoring job: its directory and its base control's (or None)."""
        return [
            {"scores": r.output, "base": self.control_dir(r)} for r in self.of("score_detector")
        ]


def _control_base_dir(model: str, dataset: str) -> str:
    """The base-model negative control's directory of a model × dataset (rules/controls.smk)."""
    return f"results/{model}/{dataset}/controls/base"


def _control_score_dir(model: str, dataset: str, feature: str, detector: str) -> str:
    """The base control's scoring directory of a feature × detector (raw features only)."""
    return f"{_control_base_dir(model, dataset)}/scores/{feature}/none/{detector}"


def job_table(config: dict[str, Any]) -> JobTable:
    """Every job of the workflow that `config` (checked, defaults filled) asks for."""
    transforms = transform_specs(config)
    seeds = replicate_seeds(config)
    replicates = [replicate_dir(s, config) for s in seeds]
    features = list(config["features"])
    t = JobTable(
        config=config,
        models=list(config["models"]),
        datasets=list(config["datasets"]),
        features=features,
        transforms=transforms,
        scores=[("none", d) for d in config["detectors"]]
        + [(name, d) for name, spec in transforms.items() for d in spec["detectors"]],
        transform_features=[f for f in features if f == "activations"],
        seeds=seeds,
        replicates=replicates,
        primary_replicate="" if "" in replicates else replicates[0],
        explain=explain_jobs(config),
        combinations={
            (j["combination"], j["feature_label"], j["detector_label"]): j
            for j in combination_jobs(config)
        },
        sweeps=sweep_specs(config),
        sweep_points=sweep_points(config),
        control_features=["activations"] if "activations" in features else [],
        control_detectors=control_detectors(config),
    )
    t.rows = [*_input_rows(t), *_replicate_rows(t), *_primary_rows(t), *_control_rows(t)]
    scored = {d.split("/scores/", 1)[1] for d in t.score_dirs()}
    t.comparisons, t.comparisons_skipped = select_pairs(config["comparisons"], scored)
    t.rows += _run_rows(t)
    return t


def _input_rows(t: JobTable) -> list[JobRow]:
    return [
        *(JobRow("prepare_model", f"results/models/{m}", model=m) for m in t.models),
        *(JobRow("build_dataset", f"results/datasets/{ds}/data.parquet", dataset=ds)
          for ds in t.datasets),  # fmt: skip
        *(JobRow("extract_base_activations", f"results/{m}/{ds}/features/activations_base.zarr",
                 model=m, dataset=ds)
          for m in t.models for ds in t.datasets
          if t.transform_features and any(s["train_on"] == "base" for s in t.transforms.values())),
    ]  # fmt: skip


def _replicate_rows(t: JobTable) -> list[JobRow]:
    """The fine-tune and everything after it, once per model × replicate × dataset."""
    rows: list[JobRow] = []
    shared = [f for f in t.features if f in ATTRIBUTION_PASS]
    for m in t.models:
        for r in t.replicates:
            for ds in t.datasets:
                base = f"results/{m}/{r}{ds}"
                at = {"model": m, "replicate": r, "dataset": ds}
                rows += [
                    JobRow("finetune_adapter", f"{base}/adapter", **at),
                    JobRow("plot_loss_curve", f"{base}/finetune/loss_curve.pdf", **at),
                    JobRow("extract_activations", f"{base}/features/activations.zarr", **at),
                    JobRow("evaluate_quirkiness", f"{base}/diagnostics/quirkiness.parquet", **at),
                    JobRow(
                        "analyze_separation", f"{base}/analysis/separation_summary.parquet", **at
                    ),
                ]
                if shared:
                    rows.append(JobRow("extract_attribution", f"{base}/features/{shared[0]}.zarr",
                                       **at))  # fmt: skip
                if "probe_shift" in t.features:
                    rows.append(JobRow("extract_probe_shift", f"{base}/features/probe_shift.zarr",
                                       **at))  # fmt: skip
                rows += [JobRow("fit_transform", f"{base}/transforms/{f}/{name}", **at, feature=f,
                                transform=name)
                         for f in t.transform_features for name in t.transforms]  # fmt: skip
                rows += [JobRow("score_detector", f"{base}/scores/{f}/{tr}/{d}", **at, feature=f,
                                transform=tr, detector=d)
                         for f in t.features for tr, d in t.scores
                         if tr == "none" or f in t.transform_features]  # fmt: skip
                rows += [JobRow("explain_scores", f"{base}/explain/{f}/{tr}/{d}", **at, feature=f,
                                transform=tr, detector=d)
                         for f, tr, d in t.explain]  # fmt: skip
    return rows


def _primary_rows(t: JobTable) -> list[JobRow]:
    """Combinations and sweep points: the run's own seed only."""
    r, rows = t.primary_replicate, []
    for m in t.models:
        for ds in t.datasets:
            at = {"model": m, "replicate": r, "dataset": ds}
            rows += [JobRow("score_combination", f"results/{m}/{r}{ds}/combinations/{c}/{f}/{d}",
                            **at, key=(c, f, d))
                     for c, f, d in t.combinations]  # fmt: skip
    for m in t.models:
        for ds in t.datasets:
            at = {"model": m, "replicate": r, "dataset": ds}
            rows += [JobRow("score_sweep_point", f"results/{m}/{r}{ds}/sweeps/{a}/{f}/{d}/{v}",
                            **at, feature=f, detector=d, key=(a, v))
                     for a, f, d, v in t.sweep_points]  # fmt: skip
    return rows


def _control_rows(t: JobTable) -> list[JobRow]:
    """The base-model negative control (issue 28): once per model × dataset (no replicate)."""
    if not t.control_detectors:
        return []
    rows = []
    for m in t.models:
        for ds in t.datasets:
            base = _control_base_dir(m, ds)
            rows.append(JobRow("extract_control_activations", f"{base}/features/activations.zarr",
                               model=m, dataset=ds))  # fmt: skip
            rows += [JobRow("score_control", _control_score_dir(m, ds, f, d), model=m, dataset=ds,
                            feature=f, transform="none", detector=d)
                     for f in t.control_features for d in t.control_detectors]  # fmt: skip
    return rows


def _run_rows(t: JobTable) -> list[JobRow]:
    """The run-wide tables and figures, and the `all` target."""
    wanted = {
        "collect_auroc_combinations": bool(t.combinations),
        "compare_scores": bool(t.comparisons),
        "summarize_seeds": len(t.seeds) > 1,
        "collect_controls": t.config["controls"]["enabled"],
    }
    rows = [JobRow(rule, out) for rule, out in RUN_TABLES.items() if wanted.get(rule, True)]
    rows += [JobRow("collect_auroc_setting", f"results/tables/auroc_{s}.parquet", key=(s,))
             for s in t.auroc_settings()]  # fmt: skip
    rows += [JobRow("collect_explanations", f"results/tables/explain/{f}/{tr}/{d}.parquet",
                    feature=f, transform=tr, detector=d)
             for f, tr, d in t.explain]  # fmt: skip
    rows += [JobRow("collect_sweep", f"results/tables/sweep_{axis}.parquet", key=(axis,))
             for axis in t.sweeps]  # fmt: skip
    figures = dict.fromkeys([*t.config["figures"], *(f"sweep_{axis}" for axis in t.sweeps)])
    rows += [JobRow("plot_figure", f"results/figures/{f}.pdf", key=(f,)) for f in figures]
    return [*rows, JobRow("all", "all")]
