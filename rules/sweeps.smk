# Axes of difficulty (issue 20; docs/sweeps.md): one scoring job per sweep point, keyed by its
# parameters (model, dataset, axis, feature, detector, value), so adding a value computes only
# that point and changing a detector's hyperparameters reruns only its points. The figure of
# each axis (sweep_{axis}) is drawn by the generic plot_figure rule (rules/figures.smk).

if SWEEP_POINTS:

    rule score_sweep_point:
        input:
            store=feature_store,
        output:
            directory("results/{model}/{replicate}{dataset}/sweeps/{axis}/{feature}/{detector}/{value}"),
        wildcard_constraints:
            axis=_alt(SWEEPS),
            detector=_alt(sorted({d for _, _, d, _ in SWEEP_POINTS})),
            value=_alt(sorted({v for _, _, _, v in SWEEP_POINTS})),
        params:
            hparams=detector_hparams,
            settings=sweep_point_params,
        group: job_group("dataset")
        conda:
            "../envs/detect.yaml"
        log:
            "logs/score_sweep_point/{model}/{replicate}{dataset}/{axis}/{feature}/{detector}/{value}.log",
        benchmark:
            "results/benchmarks/score_sweep_point/{model}/{replicate}{dataset}/{axis}/{feature}/{detector}/{value}.tsv"
        script:
            "../workflow_scripts/score_sweep_point.py"

    rule collect_sweep:
        input:
            lambda wc: sweep_point_dirs(wc.axis),
        output:
            parquet="results/tables/sweep_{axis}.parquet",
            csv=report(
                "results/tables/sweep_{axis}.csv",
                caption="../report/sweep_table.rst",
                category="Tables",
            ),
        wildcard_constraints:
            axis=_alt(SWEEPS),
        params:
            order=lambda wc: list(dict.fromkeys(v for a, _, _, v in SWEEP_POINTS if a == wc.axis)),
        group: job_group("run")
        conda:
            "../envs/detect.yaml"
        log:
            "logs/collect_sweep/{axis}.log",
        script:
            "../workflow_scripts/collect_sweep.py"
