"""Prepare a base model directory (convert the embedded GGUF, or point at local weights)."""

from quirkymad.core.logs import job_log
from quirkymad.models import prepare_model

with job_log(snakemake.log[0], snakemake.threads):  # noqa: F821
    prepare_model(
        snakemake.wildcards.model,  # noqa: F821
        snakemake.params.settings,  # noqa: F821
        snakemake.output[0],  # noqa: F821
    )
