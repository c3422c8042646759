rule finetune_adapter:
    input:
        model="results/models/{model}",
        data="results/datasets/{dataset}/data.parquet",
    output:
        adapter=directory("results/{model}/{replicate}{dataset}/adapter"),
        log_table="results/{model}/{replicate}{dataset}/finetune/training_log.csv",
    params:
        settings=finetune_params,
    conda:
        "../envs/finetune.yaml"
    log:
        "logs/finetune_adapter/{model}/{replicate}{dataset}.log",
    benchmark:
        "results/benchmarks/finetune_adapter/{model}/{replicate}{dataset}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=model_mem_mb,
        runtime=finetune_runtime,
        gpu=model_gpus,
    script:
        "../workflow_scripts/finetune_adapter.py"


rule plot_loss_curve:
    input:
        log_table="results/{model}/{replicate}{dataset}/finetune/training_log.csv",
    output:
        png=report(
            "results/{model}/{replicate}{dataset}/finetune/loss_curve.png",
            caption="../report/loss_curve.rst",
            category="Fine-tuning",
        ),
        pdf="results/{model}/{replicate}{dataset}/finetune/loss_curve.pdf",
    group: job_group("dataset")
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_loss_curve/{model}/{replicate}{dataset}.log",
    script:
        "../workflow_scripts/plot_loss_curve.py"
