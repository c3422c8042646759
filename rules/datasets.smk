rule build_dataset:
    output:
        data="results/datasets/{dataset}/data.parquet",
        card="results/datasets/{dataset}/card.json",
    params:
        settings=dataset_settings,
        build=build_settings(),
    conda:
        "../envs/datasets.yaml"
    log:
        "logs/build_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/build_dataset/{dataset}.tsv"
    script:
        "../workflow_scripts/build_dataset.py"
