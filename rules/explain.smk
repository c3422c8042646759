# Explanations (issue 21, docs/explain.md): which components carry a decomposable detector's
# score. One job per explained scoring job; one figure per model x dataset.


rule explain_scores:
    input:
        unpack(explain_inputs),
    output:
        directory("results/{model}/{dataset}/explain/{feature}/{transform}/{detector}"),
    params:
        hparams=detector_hparams,
        settings=explain_settings(),
    wildcard_constraints:
        detector=_alt(EXPLAIN_DETECTORS),
    conda:
        "../envs/detect.yaml"
    log:
        "logs/explain_scores/{model}/{dataset}/{feature}/{transform}/{detector}.log",
    benchmark:
        "results/benchmarks/explain_scores/{model}/{dataset}/{feature}/{transform}/{detector}.tsv"
    script:
        "../workflow_scripts/explain_scores.py"


rule plot_explanation:
    input:
        explain=explain_figure_job("explain"),
        scores=explain_figure_job("scores"),
    output:
        png=report(
            "results/figures/explain/{model}/{dataset}.png",
            caption="../report/explanation.rst",
            category="Explanations",
            subcategory="{model}",
        ),
        pdf="results/figures/explain/{model}/{dataset}.pdf",
    conda:
        "../envs/figures.yaml"
    log:
        "logs/plot_explanation/{model}/{dataset}.log",
    script:
        "../workflow_scripts/plot_explanation.py"
