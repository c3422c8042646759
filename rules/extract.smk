rule extract_activations:
    input:
        model="results/models/{model}",
        adapter="results/{model}/{dataset}/adapter",
        data="results/datasets/{dataset}/data.parquet",
    output:
        directory("results/{model}/{dataset}/features/activations.zarr"),
    params:
        settings=extract_settings(),
    conda:
        "../envs/extract.yaml"
    log:
        "logs/extract_activations/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_activations/{model}/{dataset}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=model_mem_mb,
        runtime=extract_runtime,
        gpu=model_gpus,
    script:
        "../workflow_scripts/extract_activations.py"
