# Controls of every AUROC (issue 28, item 2; docs/statistics.md "Controls"): the base-model
# negative control (the same detectors on the un-fine-tuned model's activations of the same
# records) and the controls table (within-gender AUROCs, name-gender-only AUROC,
# p_chance_gender). `controls.enabled: false` / `controls.base_model: false` turn them off.

if CONTROL_DETECTORS:

    # No {replicate} level: the base model does not depend on the fine-tune's seed.
    rule extract_control_activations:
        input:
            model="results/models/{model}",
            data="results/datasets/{dataset}/data.parquet",
        output:
            directory("results/{model}/{dataset}/controls/base/features/activations.zarr"),
        params:
            settings=extract_settings,
            roles=control_roles(),
        conda:
            "../envs/extract.yaml"
        log:
            "logs/extract_control_activations/{model}/{dataset}.log",
        benchmark:
            "results/benchmarks/extract_control_activations/{model}/{dataset}.tsv"
        threads: heavy_threads()
        resources:
            mem_mb=model_mem_mb,
            runtime=extract_runtime,
            gpu=model_gpus,
        script:
            "../workflow_scripts/extract_activations.py"

    # The fine-tuned model's scoring job, on the base store (same script, settings and seed).
    rule score_control:
        input:
            store="results/{model}/{dataset}/controls/base/features/{feature}.zarr",
        output:
            directory("results/{model}/{dataset}/controls/base/scores/{feature}/{transform}/{detector}"),
        params:
            hparams=detector_hparams,
            scoring=config["scoring"],
            seed=config["seed"],
        wildcard_constraints:
            feature=_alt(CONTROL_FEATURES),
            transform="none",
            detector=_alt(CONTROL_DETECTORS),
        group: job_group("base")
        conda:
            "../envs/detect.yaml"
        log:
            "logs/score_control/{model}/{dataset}/{feature}/{transform}/{detector}.log",
        benchmark:
            "results/benchmarks/score_control/{model}/{dataset}/{feature}/{transform}/{detector}.tsv"
        script:
            "../workflow_scripts/score_detector.py"


if CONTROLS["enabled"]:

    rule collect_controls:
        input:
            scores=score_dirs(),
            base=sorted({j["base"] for j in control_jobs() if j["base"]}),
        output:
            parquet="results/tables/controls.parquet",
            csv=report(
                "results/tables/controls.csv",
                caption="../report/controls_table.rst",
                category="Tables",
            ),
        params:
            jobs=control_jobs(),
            scoring=config["scoring"],
        group: job_group("run")
        conda:
            "../envs/detect.yaml"
        log:
            "logs/collect_controls/collect_controls.log",
        script:
            "../workflow_scripts/collect_controls.py"
