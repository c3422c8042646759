rule plot_auroc_per_layer:
    input:
        "results/tables/auroc.parquet",
    output:
        png="results/figures/auroc_per_layer.png",
        pdf="results/figures/auroc_per_layer.pdf",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_auroc_per_layer/plot_auroc_per_layer.log",
    script:
        "../workflow_scripts/plot_auroc_per_layer.py"
