# One rule per figure (follow-up study Figs. 1–14); each reads exactly the tables it shows
# and calls quirkymad.figures.draw(name, tables, png, pdf).

rule plot_online_auroc_per_layer:  # Fig. 1
    input:
        auroc="results/tables/auroc_online.parquet",
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


rule plot_online_auroc_aggregated:  # Fig. 2
    input:
        auroc="results/tables/auroc_online.parquet",
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


rule plot_offline_auroc_per_layer:  # Fig. 3
    input:
        auroc="results/tables/auroc_offline.parquet",
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


rule plot_offline_auroc_aggregated:  # Fig. 4
    input:
        auroc="results/tables/auroc_offline.parquet",
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


rule plot_own_label_log_odds:  # Fig. 5
    input:
        per_example="results/tables/quirkiness_per_example.parquet",
    output:
        png=report(
            "results/figures/own_label_log_odds.png",
            caption="../report/own_label_log_odds.rst",
            category="Quirkiness",
        ),
        pdf="results/figures/own_label_log_odds.pdf",
    params:
        figure="own_label_log_odds",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_own_label_log_odds/plot_own_label_log_odds.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_opposing_label_log_odds:  # Fig. 6
    input:
        per_example="results/tables/quirkiness_per_example.parquet",
    output:
        png=report(
            "results/figures/opposing_label_log_odds.png",
            caption="../report/opposing_label_log_odds.rst",
            category="Quirkiness",
        ),
        pdf="results/figures/opposing_label_log_odds.pdf",
    params:
        figure="opposing_label_log_odds",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_opposing_label_log_odds/plot_opposing_label_log_odds.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_auroc_vs_quirkiness:  # Fig. 7
    input:
        auroc=score_dirs(
            features=["activations"], detectors=["mahalanobis"], transforms=["none"]
        ),
        quirkiness="results/tables/quirkiness.parquet",
    output:
        png=report(
            "results/figures/auroc_vs_quirkiness.png",
            caption="../report/auroc_vs_quirkiness.rst",
            category="Quirkiness",
        ),
        pdf="results/figures/auroc_vs_quirkiness.pdf",
    params:
        figure="auroc_vs_quirkiness",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_auroc_vs_quirkiness/plot_auroc_vs_quirkiness.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_attribution_auroc_vs_quirkiness:  # Fig. 8
    input:
        auroc=score_dirs(
            features=["attribution"], detectors=["mahalanobis"], transforms=["none"]
        ),
        quirkiness="results/tables/quirkiness.parquet",
    output:
        png=report(
            "results/figures/attribution_auroc_vs_quirkiness.png",
            caption="../report/attribution_auroc_vs_quirkiness.rst",
            category="Quirkiness",
        ),
        pdf="results/figures/attribution_auroc_vs_quirkiness.pdf",
    params:
        figure="attribution_auroc_vs_quirkiness",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_attribution_auroc_vs_quirkiness/plot_attribution_auroc_vs_quirkiness.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_own_label_loss:  # Fig. 9
    input:
        quirkiness="results/tables/quirkiness.parquet",
    output:
        png=report(
            "results/figures/own_label_loss.png",
            caption="../report/own_label_loss.rst",
            category="Quirkiness",
        ),
        pdf="results/figures/own_label_loss.pdf",
    params:
        figure="own_label_loss",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_own_label_loss/plot_own_label_loss.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_opposing_label_loss:  # Fig. 10
    input:
        quirkiness="results/tables/quirkiness.parquet",
    output:
        png=report(
            "results/figures/opposing_label_loss.png",
            caption="../report/opposing_label_loss.rst",
            category="Quirkiness",
        ),
        pdf="results/figures/opposing_label_loss.pdf",
    params:
        figure="opposing_label_loss",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_opposing_label_loss/plot_opposing_label_loss.log",
    script:
        "../workflow_scripts/plot_figure.py"


rule plot_auroc_vs_separation:  # Fig. 11
    input:
        auroc=score_dirs(
            features=["activations"], detectors=["mahalanobis"], transforms=["none"]
        ),
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


rule plot_logit_separation_vs_separation:  # Fig. 12
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


rule plot_logit_variance_vs_separation:  # Fig. 13
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


rule plot_ab_logit_separation_vs_separation:  # Fig. 14
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


rule plot_comparisons_forest:  # paired comparisons (issue 18)
    input:
        comparisons="results/tables/comparisons.parquet",
    output:
        png=report(
            "results/figures/comparisons_forest.png",
            caption="../report/comparisons_forest.rst",
            category="AUROC",
        ),
        pdf="results/figures/comparisons_forest.pdf",
    params:
        figure="comparisons_forest",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_comparisons_forest/plot_comparisons_forest.log",
    script:
        "../workflow_scripts/plot_figure.py"
