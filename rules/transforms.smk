# Learned transforms (spec §5): fitted once per model × dataset × feature × transform, cached,
# and read by the score_detector jobs of that transform's detectors.


rule fit_transform:
    input:
        store=transform_train_store,
    output:
        directory("results/{model}/{replicate}{dataset}/transforms/{feature}/{transform}"),
    params:
        settings=transform_settings,
    wildcard_constraints:
        transform=_alt(list(TRANSFORM_CONFIG)),
    conda:
        "../envs/detect.yaml"
    log:
        "logs/fit_transform/{model}/{replicate}{dataset}/{feature}/{transform}.log",
    benchmark:
        "results/benchmarks/fit_transform/{model}/{replicate}{dataset}/{feature}/{transform}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=transform_mem_mb,
        runtime=transform_runtime,
        gpu=model_gpus,
    script:
        "../workflow_scripts/fit_transform.py"


# Base-model activations (no adapter) on the trusted prompts, for `train_on: base`; they do
# not depend on the fine-tune, so every seed's transforms share them (no {replicate} level).
rule extract_base_activations:
    input:
        model="results/models/{model}",
        data="results/datasets/{dataset}/data.parquet",
    output:
        directory("results/{model}/{dataset}/features/activations_base.zarr"),
    params:
        settings=extract_settings,
        roles=["trusted"],
    conda:
        "../envs/extract.yaml"
    log:
        "logs/extract_base_activations/{model}/{dataset}.log",
    benchmark:
        "results/benchmarks/extract_base_activations/{model}/{dataset}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=model_mem_mb,
        runtime=extract_runtime,
        gpu=model_gpus,
    script:
        "../workflow_scripts/extract_activations.py"
