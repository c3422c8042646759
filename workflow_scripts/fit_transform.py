"""Fit one transform per layer on trusted activations; write safetensors + transform.json."""

from quirkymad.core.logs import job_log
from quirkymad.transforms.stage import fit_transform_store

sm = snakemake  # noqa: F821
settings = sm.params.settings
with job_log(sm.log[0], sm.threads):
    fit_transform_store(
        sm.input.store,
        feature=sm.wildcards.feature,
        transform=sm.wildcards.transform,
        layers=settings["layers"],
        hparams=settings["hparams"],
        out_dir=sm.output[0],
        train_on=settings["train_on"],
        # The run's device, read here rather than passed as a param: a device change already
        # refits through the re-extracted store, and CPU runs' cached params stay as they were.
        device=sm.config["device"],
    )
