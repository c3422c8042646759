rule extract_activations:
    input:
        model="results/models/{model}",
        adapter="results/{model}/{replicate}{dataset}/adapter",
        data="results/datasets/{dataset}/data.parquet",
    output:
        directory("results/{model}/{replicate}{dataset}/features/activations.zarr"),
    params:
        settings=lambda wc: {**extract_settings(wc), **sweep_extract_settings(["activations"])},
    conda:
        "../envs/extract.yaml"
    log:
        "logs/extract_activations/{model}/{replicate}{dataset}.log",
    benchmark:
        "results/benchmarks/extract_activations/{model}/{replicate}{dataset}.tsv"
    threads: heavy_threads()
    resources:
        mem_mb=model_mem_mb,
        runtime=extract_runtime,
        gpu=model_gpus,
    script:
        "../workflow_scripts/extract_activations.py"


# Attribution and [B1]'s variants attribution_pcs and attribution_grad_norm (issue 19) from
# one shared pass: one μ pass and one gradient pass per model × dataset write their stores
# (quirkymad/features/extraction.py: extract_attribution_stores). Probe shift has its own job and passes
# (issue 31): a probe that cannot be fitted fails that job alone, and the attribution stores,
# their scores and the tables built on them still come out under --keep-going. Changing a
# feature's settings reruns its own job (docs/lean_run.md; tests/test_workflow.py).
ATTRIBUTION_FEATURES = [f for f in FEATURES if f in ATTRIBUTION_PASS]

if ATTRIBUTION_FEATURES:

    rule extract_attribution:
        input:
            model="results/models/{model}",
            adapter="results/{model}/{replicate}{dataset}/adapter",
            data="results/datasets/{dataset}/data.parquet",
        output:
            **{
                f: directory(f"results/{{model}}/{{replicate}}{{dataset}}/features/{f}.zarr")
                for f in ATTRIBUTION_FEATURES
            },
        params:
            settings=attribution_job_settings(ATTRIBUTION_FEATURES),
        conda:
            "../envs/extract.yaml"
        log:
            "logs/extract_attribution/{model}/{replicate}{dataset}.log",
        benchmark:
            "results/benchmarks/extract_attribution/{model}/{replicate}{dataset}.tsv"
        threads: heavy_threads()
        resources:
            mem_mb=model_mem_mb,
            runtime=extract_runtime,
            gpu=model_gpus,
        script:
            "../workflow_scripts/extract_attribution.py"


if "probe_shift" in FEATURES:

    rule extract_probe_shift:
        input:
            model="results/models/{model}",
            adapter="results/{model}/{replicate}{dataset}/adapter",
            data="results/datasets/{dataset}/data.parquet",
        output:
            probe_shift=directory("results/{model}/{replicate}{dataset}/features/probe_shift.zarr"),
        params:
            settings=attribution_job_settings(["probe_shift"]),
        conda:
            "../envs/extract.yaml"
        log:
            "logs/extract_probe_shift/{model}/{replicate}{dataset}.log",
        benchmark:
            "results/benchmarks/extract_probe_shift/{model}/{replicate}{dataset}.tsv"
        threads: heavy_threads()
        resources:
            mem_mb=model_mem_mb,
            runtime=extract_runtime,
            gpu=model_gpus,
        script:
            "../workflow_scripts/extract_attribution.py"
