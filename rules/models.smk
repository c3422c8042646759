rule prepare_model:
    output:
        directory("results/models/{model}"),
    params:
        settings=model_settings,
    conda:
        "../envs/models.yaml"
    log:
        "logs/prepare_model/{model}.log",
    benchmark:
        "results/benchmarks/prepare_model/{model}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=model_mem_mb,
    script:
        "../workflow_scripts/prepare_model.py"
