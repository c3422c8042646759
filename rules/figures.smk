# One rule per figure; all call quirkymad.figures.draw(name, tables, png, pdf).

rule plot_online_auroc_per_layer:
    input:
        auroc=auroc_tables("online"),
    output:
        png=report(
            "results/figures/online_auroc_per_layer.png",
            caption="../report/online_auroc_per_layer.rst",
            category="AUROC",
        ),
        pdf="results/figures/online_auroc_per_layer.pdf",
    params:
        figure="online_auroc_per_layer",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_online_auroc_per_layer/plot_online_auroc_per_layer.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_online_auroc_aggregated:
    input:
        auroc=auroc_tables("online"),
    output:
        png=report(
            "results/figures/online_auroc_aggregated.png",
            caption="../report/online_auroc_aggregated.rst",
            category="AUROC",
        ),
        pdf="results/figures/online_auroc_aggregated.pdf",
    params:
        figure="online_auroc_aggregated",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_online_auroc_aggregated/plot_online_auroc_aggregated.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_offline_auroc_per_layer:
    input:
        auroc=auroc_tables("offline"),
    output:
        png=report(
            "results/figures/offline_auroc_per_layer.png",
            caption="../report/offline_auroc_per_layer.rst",
            category="AUROC",
        ),
        pdf="results/figures/offline_auroc_per_layer.pdf",
    params:
        figure="offline_auroc_per_layer",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_offline_auroc_per_layer/plot_offline_auroc_per_layer.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_offline_auroc_aggregated:
    input:
        auroc=auroc_tables("offline"),
    output:
        png=report(
            "results/figures/offline_auroc_aggregated.png",
            caption="../report/offline_auroc_aggregated.rst",
            category="AUROC",
        ),
        pdf="results/figures/offline_auroc_aggregated.pdf",
    params:
        figure="offline_auroc_aggregated",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_offline_auroc_aggregated/plot_offline_auroc_aggregated.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_auroc_vs_separation:
    input:
        auroc=auroc_tables(features=["activations"], detectors=["mahalanobis"]),
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
