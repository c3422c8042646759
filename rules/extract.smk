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


# Attribution and probe shift from shared passes: one μ pass and one gradient pass per model ×
# dataset write both stores (quirkymad/extract.py: extract_attribution_stores). Changing either
# feature's settings reruns this job, i.e. both stores and both features' scores
# (docs/lean_run.md; tests/test_workflow.py).
# (+ [B1]'s variants attribution_pcs and attribution_grad_norm: issue 19, same gradient pass)
_SHARED = ("attribution", "probe_shift", "attribution_pcs", "attribution_grad_norm")
ATTRIBUTION_FEATURES = [f for f in FEATURES if f in _SHARED]

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
            settings=lambda wc: {
                f: {**attribution_settings(f, wc), **sweep_extract_settings(ATTRIBUTION_FEATURES)}
                for f in ATTRIBUTION_FEATURES
            },
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
