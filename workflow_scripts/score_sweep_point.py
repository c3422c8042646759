"""Score one sweep point (quirkymad/scoring/sweeps.py): its draws of trusted / untrusted /
test records from the store, each scored as a scoring job would be, and their average."""

from quirkymad.core.logs import job_log
from quirkymad.scoring.sweeps import score_point

sm = snakemake  # noqa: F821
with job_log(sm.log[0], sm.threads):
    score_point(
        sm.input.store,
        sm.output[0],
        feature=sm.wildcards.feature,
        detector=sm.wildcards.detector,
        hparams=sm.params.hparams,
        settings=sm.params.settings,
        labels={"model": sm.wildcards.model, "dataset": sm.wildcards.dataset, "transform": "none"},
    )
