"""Fine-tune one LoRA adapter on one dataset."""

from quirkymad.finetune import FinetuneSettings, finetune
from quirkymad.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    finetune(
        sm.input.model,
        sm.input.data,
        sm.output.adapter,
        sm.output.log_table,
        FinetuneSettings(**sm.params.settings),
    )
