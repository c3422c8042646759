"""Fine-tune one LoRA adapter on one dataset."""

from quirkymad.core.logs import job_log
from quirkymad.finetune import FinetuneSettings, finetune
from quirkymad.finetune.settings import run_only_keys
from quirkymad.workflow.config import finetune_settings

sm = snakemake  # noqa: F821
# params hold what determines the adapter; the run-only keys come from the config.
merged = finetune_settings(sm.config, sm.wildcards.dataset)
run_only = {k: merged[k] for k in run_only_keys()}
with job_log(sm.log[0], sm.threads):
    finetune(
        sm.input.model,
        sm.input.data,
        sm.output.adapter,
        sm.output.log_table,
        FinetuneSettings(**sm.params.settings, **run_only),
    )
