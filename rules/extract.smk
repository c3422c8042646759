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


rule extract_attribution:
    input:
        model="results/models/{model}",
        adapter="results/{model}/{dataset}/adapter",
        data="results/datasets/{dataset}/data.parquet",
    output:
        directory("results/{model}/{dataset}/features/attribution.zarr"),
    params:
        feature="attribution",
        settings=attribution_settings("attribution"),
    conda:
        "../envs/extract.yaml"
    log:
        "logs/extract_attribution/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_attribution/{model}/{dataset}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=model_mem_mb,
        runtime=extract_runtime,
        gpu=model_gpus,
    script:
        "../workflow_scripts/extract_attribution.py"


rule extract_probe_shift:
    input:
        model="results/models/{model}",
        adapter="results/{model}/{dataset}/adapter",
        data="results/datasets/{dataset}/data.parquet",
    output:
        directory("results/{model}/{dataset}/features/probe_shift.zarr"),
    params:
        feature="probe_shift",
        settings=attribution_settings("probe_shift"),
    conda:
        "../envs/extract.yaml"
    log:
        "logs/extract_probe_shift/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_probe_shift/{model}/{dataset}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=model_mem_mb,
        runtime=extract_runtime,
        gpu=model_gpus,
    script:
        "../workflow_scripts/extract_attribution.py"
