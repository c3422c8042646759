rule reference_comparison:
    # [B1]'s published AUROCs beside ours (docs/reference_comparison.md); the reference numbers
    # are one data file in the repo, so editing it reruns only this job.
    input:
        auroc="results/tables/auroc.parquet",
        # in the repository, not the run's working directory
        reference=os.path.join(workflow.basedir, "config", "reference_b1.csv"),
    output:
        report(
            "results/tables/reference_comparison.csv",
            caption="../report/reference_comparison.rst",
            category="Tables",
        ),
    group: job_group("run")
    conda:
        "../envs/detect.yaml"
    log:
        "logs/reference_comparison/reference_comparison.log",
    script:
        "../workflow_scripts/reference_comparison.py"
