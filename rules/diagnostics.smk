# Own-prompt log-odds come from the activations store when there is one (the same records and
# forward pass); only the opposing prompts run here.
rule evaluate_quirkiness:
    input:
        model="results/models/{model}",
        adapter="results/{model}/{replicate}{dataset}/adapter",
        data="results/datasets/{dataset}/data.parquet",
        **(
            {"activations": "results/{model}/{replicate}{dataset}/features/activations.zarr"}
            if "activations" in FEATURES
            else {}
        ),
    output:
        per_example="results/{model}/{replicate}{dataset}/diagnostics/quirkiness_per_example.parquet",
        summary="results/{model}/{replicate}{dataset}/diagnostics/quirkiness.parquet",
    params:
        settings=diagnostics_settings(),
    conda:
        "../envs/extract.yaml"
    log:
        "logs/evaluate_quirkiness/{model}/{replicate}{dataset}.log",
    benchmark:
        "results/benchmarks/evaluate_quirkiness/{model}/{replicate}{dataset}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=model_mem_mb,
        runtime=extract_runtime,
        gpu=model_gpus,
    script:
        "../workflow_scripts/evaluate_quirkiness.py"


rule collect_quirkiness:
    input:
        per_example=expand(
            "results/{model}/{replicate}{dataset}/diagnostics/quirkiness_per_example.parquet",
            model=MODELS,
            replicate=REPLICATES,
            dataset=DATASETS,
        ),
        summary=expand(
            "results/{model}/{replicate}{dataset}/diagnostics/quirkiness.parquet",
            model=MODELS,
            replicate=REPLICATES,
            dataset=DATASETS,
        ),
    output:
        per_example="results/tables/quirkiness_per_example.parquet",
        per_example_csv="results/tables/quirkiness_per_example.csv",
        summary="results/tables/quirkiness.parquet",
        summary_csv=report(
            "results/tables/quirkiness.csv",
            caption="../report/quirkiness_table.rst",
            category="Tables",
        ),
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/collect_quirkiness/collect_quirkiness.log",
    script:
        "../workflow_scripts/collect_quirkiness.py"
