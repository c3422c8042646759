# quirkymad: mechanistic anomaly detection for quirky language models.
# Table of contents; the logic lives in rules/common.smk and the quirkymad package.
from snakemake.utils import min_version

min_version("9.0")


report: "report/workflow.rst"


# `--configfile other.yaml` *replaces* the default run instead of deep-merging into it (which
# would silently add config.yaml's model and dataset to every other run).
if not workflow.config_settings.configfiles:

    configfile: "config.yaml"



include: "rules/common.smk"
include: "rules/models.smk"
include: "rules/datasets.smk"
include: "rules/finetune.smk"
include: "rules/extract.smk"
include: "rules/diagnostics.smk"
include: "rules/transforms.smk"
include: "rules/detect.smk"
include: "rules/combinations.smk"
include: "rules/analysis.smk"
include: "rules/reference.smk"
include: "rules/stats.smk"
include: "rules/controls.smk"
include: "rules/figures.smk"
include: "rules/explain.smk"
include: "rules/sweeps.smk"


rule all:
    input:
        final_outputs(),
    default_target: True


# What the run found and where to look (issue 28): quirky or not, the headline AUROCs with
# their controls, the figures, tables and the --report command; never fails the run.
onsuccess:
    from quirkymad.analysis.run_summary import print_run_summary

    print_run_summary("results", workflow.config_settings.configfiles)
