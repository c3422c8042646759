rule score_detector:
    input:
        unpack(score_inputs),
    output:
        # scores.parquet + auroc.parquet: one output per job keeps the paper DAG's no-op fast.
        directory("results/{model}/{replicate}{dataset}/scores/{feature}/{transform}/{detector}"),
    params:
        hparams=detector_hparams,
        scoring=config["scoring"],
        seed=replicate_seed,
    group: job_group("dataset")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/score_detector/{model}/{replicate}{dataset}/{feature}/{transform}/{detector}.log",
    benchmark:
        "results/benchmarks/score_detector/{model}/{replicate}{dataset}/{feature}/{transform}/{detector}.tsv"
    script:
        "../workflow_scripts/score_detector.py"


rule collect_auroc_setting:
    # One table per setting, so that an online detector's change redraws only the online
    # figures, and each figure has one input instead of hundreds (a fast no-op dry run).
    input:
        tables=lambda wc: score_dirs(wc.setting),
        adapters=[j["adapter"] for j in adapter_jobs()],  # the `quirky` flag (issue 28)
    output:
        "results/tables/auroc_{setting}.parquet",
    params:
        adapters=adapter_jobs(),
    wildcard_constraints:
        setting="online|offline",
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/collect_auroc/{setting}.log",
    script:
        "../workflow_scripts/collect_auroc.py"


rule collect_auroc:
    input:
        tables=auroc_tables(),
        adapters=[j["adapter"] for j in adapter_jobs()],  # the `quirky` flag (issue 28)
    output:
        parquet="results/tables/auroc.parquet",
        csv=report(
            "results/tables/auroc.csv",
            caption="../report/auroc_table.rst",
            category="Tables",
        ),
    params:
        adapters=adapter_jobs(),
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/collect_auroc/collect_auroc.log",
    script:
        "../workflow_scripts/collect_auroc.py"
