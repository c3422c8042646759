# Paired comparisons of scores (issue 18; docs/statistics.md).


rule compare_scores:
    input:
        comparison_inputs(),
    output:
        parquet="results/tables/comparisons.parquet",
        csv=report(
            "results/tables/comparisons.csv",
            caption="../report/comparisons_table.rst",
            category="Tables",
        ),
    params:
        jobs=comparison_jobs(),
        skipped=COMPARISONS_SKIPPED,
        scoring=config["scoring"],
        seed=config["seed"],
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/compare_scores/compare_scores.log",
    script:
        "../workflow_scripts/compare_scores.py"


# Seeds as replicates (issue 18; docs/statistics.md): only with more than one seed.
rule summarize_seeds:
    input:
        "results/tables/auroc.parquet",
    output:
        parquet="results/tables/auroc_seeds.parquet",
        csv=report(
            "results/tables/auroc_seeds.csv",
            caption="../report/auroc_seeds.rst",
            category="Tables",
        ),
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/summarize_seeds/summarize_seeds.log",
    script:
        "../workflow_scripts/summarize_seeds.py"
