# Layer and feature combinations: concat, merge, ensemble (issue 19; quirkymad/scoring/combinations.py;
# docs/detectors.md). One cached job per model × dataset × combination × features × score;
# the mean over layers is every plain scoring job's `layer = all` row.


rule score_combination:
    input:
        unpack(combination_inputs),
    output:
        directory("results/{model}/{replicate}{dataset}/combinations/{combination}/{features}/{score}"),
    wildcard_constraints:
        combination="concat|merge|ensemble",
        features=_alt(sorted({f for _, f, _ in COMBINATION_JOBS}) or ["none"]),
        score=_alt(sorted({d for _, _, d in COMBINATION_JOBS}) or ["none"]),
    params:
        settings=combination_settings,
        scoring=config["scoring"],
        seed=config["seed"],
    group: job_group("dataset")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/score_combination/{model}/{replicate}{dataset}/{combination}/{features}/{score}.log",
    benchmark:
        "results/benchmarks/score_combination/{model}/{replicate}{dataset}/{combination}/{features}/{score}.tsv"
    script:
        "../workflow_scripts/score_combination.py"


rule collect_auroc_combinations:
    # The combinations' AUROC rows in a table of their own: the per-setting tables (and so the
    # AUROC figures) stay as they were; collect_auroc appends these rows to auroc.{parquet,csv}.
    input:
        combination_dirs(),
    output:
        "results/tables/auroc_combinations.parquet",
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/collect_auroc/combinations.log",
    script:
        "../workflow_scripts/collect_auroc.py"
