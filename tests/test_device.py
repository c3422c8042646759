"""`device: cuda` on a machine without CUDA: the model job stops before loading weights, with
one line (not at plan time: a cluster's login node has no GPU, its compute nodes do)."""

from __future__ import annotations

import pytest
import torch
import yaml

from quirkymad.core.errors import QuirkyError
from quirkymad.core.logs import job_log
from quirkymad.models.loading import load_model, resolve_device

from smk import REPO, snakemake, write_config


def test_cuda_without_cuda_is_one_line_before_loading(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu").type == "cpu" and resolve_device("auto").type == "cpu"
    with pytest.raises(QuirkyError, match=r"^device: cuda, but CUDA is not available"):
        resolve_device("cuda")
    # Before the weights: a directory that is not a prepared model is not even looked at.
    log = tmp_path / "job.log"
    with pytest.raises(SystemExit) as exit_, job_log(log):
        load_model(tmp_path / "no-model", device="cuda")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("quirkymad: device: cuda, but CUDA is not")
    assert log.read_text().strip().splitlines()[-1] == err[0]


def test_other_job_errors_are_one_line_too(tmp_path, capsys):
    with pytest.raises(SystemExit), job_log(tmp_path / "job.log"):
        raise QuirkyError("store x.zarr: corrupt")
    assert capsys.readouterr().err == "quirkymad: store x.zarr: corrupt\n"
    assert "Traceback" in (tmp_path / "job.log").read_text()  # kept for debugging


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_workflow_with_cuda_on_a_cpu_machine_plans_then_fails_in_the_first_model_job(tmp_path):
    tiny = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())
    cfg = write_config(tmp_path / "c.yaml", {**tiny, "device": "cuda"})
    assert snakemake(tmp_path, cfg, "-n", timeout=120).returncode == 0  # plans fine
    out = snakemake(tmp_path, cfg, "--cores", "1", "--until", "finetune_adapter", timeout=600)
    assert out.returncode != 0
    lines = [x for x in out.stderr.splitlines() if x.startswith("quirkymad:")]
    assert lines == [lines[0]] and lines[0].startswith("quirkymad: device: cuda, but CUDA")
    assert "AssertionError" not in out.stderr
