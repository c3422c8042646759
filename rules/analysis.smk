rule analyze_separation:
    input:
        store="results/{model}/{replicate}{dataset}/features/activations.zarr",
    output:
        per_layer="results/{model}/{replicate}{dataset}/analysis/separation_per_layer.parquet",
        summary="results/{model}/{replicate}{dataset}/analysis/separation_summary.parquet",
    group: job_group("dataset")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/analyze_separation/{model}/{replicate}{dataset}.log",
    script:
        "../workflow_scripts/analyze_separation.py"


rule collect_separation:
    input:
        per_layer=expand(
            "results/{model}/{replicate}{dataset}/analysis/separation_per_layer.parquet",
            model=MODELS,
            replicate=REPLICATES,
            dataset=DATASETS,
        ),
        summary=expand(
            "results/{model}/{replicate}{dataset}/analysis/separation_summary.parquet",
            model=MODELS,
            replicate=REPLICATES,
            dataset=DATASETS,
        ),
    output:
        per_layer="results/tables/separation_per_layer.parquet",
        per_layer_csv=report(
            "results/tables/separation_per_layer.csv",
            caption="../report/separation_table.rst",
            category="Tables",
        ),
        summary="results/tables/separation_summary.parquet",
        summary_csv=report(
            "results/tables/separation_summary.csv",
            caption="../report/separation_table.rst",
            category="Tables",
        ),
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/collect_separation/collect_separation.log",
    script:
        "../workflow_scripts/collect_separation.py"


rule summarize_auroc:
    input:
        "results/tables/auroc.parquet",
    output:
        by_dataset=report(
            "results/tables/auroc_summary_by_dataset.csv",
            caption="../report/auroc_summary.rst",
            category="Tables",
        ),
        overall=report(
            "results/tables/auroc_summary_overall.csv",
            caption="../report/auroc_summary.rst",
            category="Tables",
        ),
    group: job_group("run")
    conda:
        "../envs/figures.yaml"
    log:
        "logs/summarize_auroc/summarize_auroc.log",
    script:
        "../workflow_scripts/summarize_auroc.py"
