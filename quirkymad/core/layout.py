"""Which rule writes which path of a results tree, and the command that rebuilds it.

One table, `WRITERS`, mirrors the `output:` paths of rules/*.smk (tests/test_integrity.py checks
it against Snakemake's own `--detailed-summary` of a run that uses every rule). A path inside a
directory output (a chunk of a Zarr store, a file of an adapter or of a scoring job's directory)
belongs to that directory: Snakemake can only rebuild the directory as a whole.
"""

from __future__ import annotations

import re
from pathlib import Path

# results/{model}/{replicate}{dataset}: {replicate} is "" or "seed{n}/" (rules/common.smk).
_RUN = r"[^/]+/(?:seed\d+/)?[^/]+"
_ONE = r"[^/]+"

# (output path under results/, as a regex; the rule writing it). First match wins, so the
# fixed names of tables/ and features/ come before the patterns they also match.
WRITERS: tuple[tuple[str, str], ...] = (
    (r"models/[^/]+", "prepare_model"),
    (r"datasets/[^/]+/(?:data\.parquet|card\.json)", "build_dataset"),
    (r"tables/explain/[^/]+/[^/]+/[^/]+\.parquet", "collect_explanations"),
    (r"tables/auroc\.(?:parquet|csv)", "collect_auroc"),
    (r"tables/auroc_combinations\.parquet", "collect_auroc_combinations"),
    (r"tables/auroc_seeds\.(?:parquet|csv)", "summarize_seeds"),
    (r"tables/auroc_summary_\w+\.csv", "summarize_auroc"),
    (r"tables/auroc_\w+\.parquet", "collect_auroc_setting"),
    (r"tables/separation_\w+\.(?:parquet|csv)", "collect_separation"),
    (r"tables/quirkiness\w*\.(?:parquet|csv)", "collect_quirkiness"),
    (r"tables/comparisons\.(?:parquet|csv)", "compare_scores"),
    (r"tables/controls\.(?:parquet|csv)", "collect_controls"),
    (r"tables/reference_comparison\.csv", "reference_comparison"),
    (r"tables/sweep_\w+\.(?:parquet|csv)", "collect_sweep"),
    (r"figures/[^/]+\.(?:png|pdf)", "plot_figure"),
    (rf"{_ONE}/{_ONE}/features/activations_base\.zarr", "extract_base_activations"),
    (rf"{_ONE}/{_ONE}/controls/base/features/{_ONE}\.zarr", "extract_control_activations"),
    (rf"{_ONE}/{_ONE}/controls/base/scores/{_ONE}/{_ONE}/{_ONE}", "score_control"),
    (rf"{_RUN}/adapter", "finetune_adapter"),
    (rf"{_RUN}/finetune/training_log\.csv", "finetune_adapter"),
    (rf"{_RUN}/finetune/loss_curve\.(?:png|pdf)", "plot_loss_curve"),
    (rf"{_RUN}/features/activations\.zarr", "extract_activations"),
    (rf"{_RUN}/features/probe_shift\.zarr", "extract_probe_shift"),
    (rf"{_RUN}/features/[^/]+\.zarr", "extract_attribution"),
    (rf"{_RUN}/diagnostics/quirkiness(?:_per_example)?\.parquet", "evaluate_quirkiness"),
    (rf"{_RUN}/analysis/separation_\w+\.parquet", "analyze_separation"),
    (rf"{_RUN}/transforms/{_ONE}/{_ONE}", "fit_transform"),
    (rf"{_RUN}/scores/{_ONE}/{_ONE}/{_ONE}", "score_detector"),
    (rf"{_RUN}/explain/{_ONE}/{_ONE}/{_ONE}", "explain_scores"),
    (rf"{_RUN}/combinations/{_ONE}/{_ONE}/{_ONE}", "score_combination"),
    (rf"{_RUN}/sweeps/{_ONE}/{_ONE}/{_ONE}/{_ONE}", "score_sweep_point"),
)
_COMPILED = tuple((re.compile(rf"({pattern})(?:/.*)?"), rule) for pattern, rule in WRITERS)


def writer(path: str | Path) -> tuple[str, str] | None:
    """(the rule's output as Snakemake names it, `results/...`; the rule) for `path` (a file
    or directory of a results tree, relative or absolute), or None for a path no rule writes.

    The results tree is the innermost `results` directory on the path whose remainder is a
    rule's output, so `/scratch/run1/results/models/x/weights/model.safetensors` is
    `("results/models/x", "prepare_model")`."""
    parts = Path(path).parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] != "results":
            continue
        rest = "/".join(parts[i + 1 :])
        for pattern, rule in _COMPILED:
            m = pattern.fullmatch(rest)
            if m:
                return f"results/{m[1]}", rule
    return None


def rebuild_command(path: str | Path) -> str:
    """The command that rebuilds `path` (run where the workflow runs, with the run's usual
    options such as --configfile): `snakemake --forcerun <output>` reruns the job that wrote
    it and what depends on it; a path no rule writes is deleted instead."""
    found = writer(path)
    if found is None:
        return f"rm -r {path} (no workflow rule writes it)"
    return f"snakemake --forcerun {found[0]}"
