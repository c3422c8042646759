"""The controls (issue 28, item 2) are jobs of their own: turning them on over a finished run
plans only them, and a controls-only setting reruns only them; no model pass or fine-tune of
the main path reruns. The "finished run" is the tiny config's DAG with every output created
empty and recorded by `snakemake --touch` (params and code included), so no job runs."""

from __future__ import annotations

import re

import yaml

from smk import REPO, planned_jobs, snakemake, write_config

# Sweeps read the built dataset at plan time; they have nothing to do with the controls.
TINY = {k: v for k, v in yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text()).items()
        if k != "sweeps"}  # fmt: skip
OFF = {**TINY, "controls": {"enabled": False},
       "figures": {k: v for k, v in TINY["figures"].items() if k != "controls"}}  # fmt: skip
FILES = (".parquet", ".csv", ".json", ".png", ".pdf")


def _finish(wd, cfg):
    """Create every planned output (empty) and record it as made by this config."""
    out = snakemake(wd, cfg, "-n", timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    for m in re.finditer(r"^\s*output: (.*)$", out.stdout + out.stderr, re.M):
        for p in (wd / s.strip() for s in m.group(1).split(",")):
            if p.suffix in FILES:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.touch()
            else:
                p.mkdir(parents=True, exist_ok=True)
    touched = snakemake(wd, cfg, "--touch", "--forceall", "--cores", "1", timeout=120)
    assert touched.returncode == 0, touched.stderr[-3000:]


def test_controls_plan_only_their_own_jobs(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIRKYMAD_SKIP_MODEL_CHECK", "1")
    off = write_config(tmp_path / "off.yaml", OFF)
    _finish(tmp_path, off)
    assert planned_jobs(tmp_path, off) == {}
    on = write_config(tmp_path / "on.yaml", TINY)
    detectors = [d for d in TINY["detectors"]]  # every raw detector, on activations
    assert planned_jobs(tmp_path, on) == {
        "extract_control_activations": 1, "score_control": len(detectors),
        "collect_controls": 1, "plot_figure": 1, "all": 1,
    }  # fmt: skip
    _finish(tmp_path, on)
    no_base = write_config(tmp_path / "nb.yaml", {**TINY, "controls": {"base_model": False}})
    assert planned_jobs(tmp_path, no_base) == {"collect_controls": 1, "plot_figure": 1, "all": 1}


def test_the_controls_figure_without_controls_is_a_config_error():
    import pytest

    from quirkymad.core.errors import QuirkyError
    from quirkymad.workflow.config import check_config

    bad = {**TINY, "controls": {"enabled": False}}
    with pytest.raises(QuirkyError, match=r"figures\.controls needs controls\.enabled"):
        check_config(bad, check_models=False)
    check_config(OFF, check_models=False)
