"""Build one quirky dataset: Parquet records and a JSON card."""

from quirkymad.core.logs import job_log
from quirkymad.datasets import BuildSettings, write_dataset

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_dataset(
        sm.wildcards.dataset,
        sm.params.settings,
        BuildSettings(**sm.params.build),
        sm.output.data,
        sm.output.card,
    )
