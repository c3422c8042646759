"""Build one quirky dataset: Parquet records and a JSON card."""

from quirkymad.datasets import BuildSettings, write_dataset
from quirkymad.logs import job_log

sm = snakemake  # noqa: F821
with job_log(sm.log[0]):
    write_dataset(
        sm.wildcards.dataset,
        sm.params.settings,
        BuildSettings(**sm.params.build),
        sm.output.data,
        sm.output.card,
    )
