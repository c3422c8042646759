"""The figure catalogue is the one place a figure is declared: registry, config check, rule
and docs follow it, and a new figure needs only a catalogue entry and a plotting function."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
import yaml

from quirkymad.core.errors import QuirkyError
from quirkymad.figures import FIGURES, draw, register_figure
from quirkymad.figures.catalogue import FIGURE_CATALOGUE, FigureSpec, Scores
from quirkymad.figures.registry import function_tables
from quirkymad.workflow.config import check_config

from smk import REPO, snakemake

TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())


def test_every_catalogue_figure_is_registered_with_its_tables():
    assert set(FIGURES) == set(FIGURE_CATALOGUE)
    for name, fig in FIGURES.items():
        assert function_tables(fig.draw) == tuple(FIGURE_CATALOGUE[name].tables), name


def test_needs_follow_from_the_tables():
    assert FIGURE_CATALOGUE["online_auroc_per_layer"].needs == ("online",)
    assert FIGURE_CATALOGUE["offline_auroc_aggregated"].needs == ("offline",)
    assert FIGURE_CATALOGUE["auroc_vs_separation"].needs == ("activations/mahalanobis",)
    assert FIGURE_CATALOGUE["logit_variance_vs_separation"].needs == ()
    # Every figure reading AUROCs declares what produces them, except one reading the whole
    # `auroc` table (every scoring job's; trigger_mechanism needs a trigger dataset instead,
    # checked by quirkymad.workflow.config).
    assert FIGURE_CATALOGUE["trigger_mechanism"].tables == {"auroc": "auroc"}
    for name, spec in FIGURE_CATALOGUE.items():
        whole_table = spec.tables.get("auroc") == "auroc"
        assert ("auroc" in spec.tables and not whole_table) == bool(spec.needs), name


def _auroc_table(path):
    rows = [
        {"model": "m", "dataset": "addition", "feature": "attribution", "transform": "none",
         "detector": "lof", "setting": "online", "layer": str(layer), "auroc": 0.5 + layer / 10}
        for layer in (1, 2, 3)
    ]  # fmt: skip
    pd.DataFrame(rows).to_parquet(path)
    return path


def test_a_figure_added_through_the_catalogue_is_checked_and_drawn(monkeypatch, tmp_path):
    spec = FigureSpec("new", "AUROC", {"auroc": Scores("attribution", "lof")}, "A new figure.")
    monkeypatch.setitem(FIGURE_CATALOGUE, "lof_attribution_auroc", spec)

    def plot(auroc, png, pdf):
        from quirkymad.figures.common import plt, save_figure

        fig, ax = plt.subplots()
        ax.plot(auroc["layer"], auroc["auroc"])
        save_figure(fig, png, pdf)

    monkeypatch.setitem(FIGURES, "lof_attribution_auroc", None)  # restored after the test
    register_figure("lof_attribution_auroc")(plot)
    cfg = {**TINY, "figures": {"lof_attribution_auroc": {}}}
    check_config(cfg, check_models=False)
    no_lof = {**cfg, "detectors": {"mahalanobis": {}}}
    with pytest.raises(QuirkyError, match="needs features.attribution and detectors.lof"):
        check_config(no_lof, check_models=False)
    png, pdf = tmp_path / "f.png", tmp_path / "f.pdf"
    draw("lof_attribution_auroc", {"auroc": [_auroc_table(tmp_path / "a.parquet")]}, png, pdf)
    assert png.read_bytes().startswith(b"\x89PNG") and pdf.read_bytes().startswith(b"%PDF")


NEW_ENTRY = """
FIGURE_CATALOGUE["lof_attribution_auroc"] = FigureSpec(
    "new", "AUROC", {"auroc": Scores("attribution", "lof")}, "A new figure."
)
"""


@pytest.mark.slow
def test_a_figure_added_through_the_catalogue_is_planned(tmp_path, monkeypatch):
    """A copy of the workflow whose only change is one catalogue entry plans its figure job,
    with exactly the scores the entry names as input."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for part in ("Snakefile", "rules", "report", "workflow_scripts", "config", "envs",
                 "profiles", "quirkymad"):  # fmt: skip
        src = REPO / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / part)
    with open(repo / "quirkymad/figures/catalogue.py", "a") as f:
        f.write(NEW_ENTRY)
    monkeypatch.setenv("PYTHONPATH", str(repo))
    wd = tmp_path / "wd"
    wd.mkdir()
    cfg = wd / "c.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "figures": {"lof_attribution_auroc": {}}, "sweeps": {}}))

    out = snakemake(wd, cfg, "-n", timeout=120, repo=repo)
    assert out.returncode == 0, out.stderr
    jobs = re.findall(r"rule plot_figure:\n\s+input: (.*)\n\s+output: (.*)\n", out.stdout)
    assert jobs == [
        (
            "results/tiny-random/addition/scores/attribution/none/lof",
            "results/figures/lof_attribution_auroc.png, results/figures/lof_attribution_auroc.pdf",
        )
    ]


def test_docs_figure_table_lists_the_catalogue():
    text = (REPO / "docs" / "figures.md").read_text()
    names = re.findall(r"^\| `(\w+)` \|", text, re.M)
    assert names == list(FIGURE_CATALOGUE)
