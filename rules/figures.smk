rule plot_auroc_per_layer:
    input:
        auroc="results/tables/auroc.parquet",
    output:
        png=report(
            "results/figures/auroc_per_layer.png",
            caption="../report/auroc_per_layer.rst",
            category="Figures",
        ),
        pdf="results/figures/auroc_per_layer.pdf",
    params:
        figure="auroc_per_layer",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_auroc_per_layer/plot_auroc_per_layer.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_auroc_vs_separation:
    input:
        auroc="results/tables/auroc.parquet",
        per_layer="results/tables/separation_per_layer.parquet",
    output:
        png=report(
            "results/figures/auroc_vs_separation.png",
            caption="../report/auroc_vs_separation.rst",
            category="Separation",
        ),
        pdf="results/figures/auroc_vs_separation.pdf",
    params:
        figure="auroc_vs_separation",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_auroc_vs_separation/plot_auroc_vs_separation.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_logit_separation_vs_separation:
    input:
        per_layer="results/tables/separation_per_layer.parquet",
        summary="results/tables/separation_summary.parquet",
    output:
        png=report(
            "results/figures/logit_separation_vs_separation.png",
            caption="../report/logit_separation_vs_separation.rst",
            category="Separation",
        ),
        pdf="results/figures/logit_separation_vs_separation.pdf",
    params:
        figure="logit_separation_vs_separation",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_logit_separation_vs_separation/plot_logit_separation_vs_separation.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_logit_variance_vs_separation:
    input:
        summary="results/tables/separation_summary.parquet",
    output:
        png=report(
            "results/figures/logit_variance_vs_separation.png",
            caption="../report/logit_variance_vs_separation.rst",
            category="Separation",
        ),
        pdf="results/figures/logit_variance_vs_separation.pdf",
    params:
        figure="logit_variance_vs_separation",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_logit_variance_vs_separation/plot_logit_variance_vs_separation.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_ab_logit_separation_vs_separation:
    input:
        summary="results/tables/separation_summary.parquet",
    output:
        png=report(
            "results/figures/ab_logit_separation_vs_separation.png",
            caption="../report/ab_logit_separation_vs_separation.rst",
            category="Separation",
        ),
        pdf="results/figures/ab_logit_separation_vs_separation.pdf",
    params:
        figure="ab_logit_separation_vs_separation",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_ab_logit_separation_vs_separation/plot_ab_logit_separation_vs_separation.log",
    script:
        "../workflow_scripts/plot_figure.py"
