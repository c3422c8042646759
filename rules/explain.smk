# Explanations (issue 21, docs/explain.md): which components carry a decomposable detector's
# score. One job per explained scoring job; their directions collected per job kind.


rule explain_scores:
    input:
        unpack(explain_inputs),
    output:
        directory("results/{model}/{replicate}{dataset}/explain/{feature}/{transform}/{detector}"),
    params:
        hparams=detector_hparams,
        settings=explain_settings(),
    wildcard_constraints:
        detector=_alt(EXPLAIN_DETECTORS),
    group: job_group("dataset")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/explain_scores/{model}/{replicate}{dataset}/{feature}/{transform}/{detector}.log",
    benchmark:
        "results/benchmarks/explain_scores/{model}/{replicate}{dataset}/{feature}/{transform}/{detector}.tsv"
    script:
        "../workflow_scripts/explain_scores.py"


rule collect_explanations:
    # One table per explained job kind over every model x dataset; the `explanations` figure
    # (figure catalogue) reads activations/none/mahalanobis's.
    input:
        lambda wc: explain_dirs([(wc.feature, wc.transform, wc.detector)]),
    output:
        "results/tables/explain/{feature}/{transform}/{detector}.parquet",
    wildcard_constraints:
        detector=_alt(EXPLAIN_DETECTORS),
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/collect_explanations/{feature}/{transform}/{detector}.log",
    script:
        "../workflow_scripts/collect_explanations.py"
