"""Plan-time behaviour of `comparisons:` (dry runs of the tiny config, nothing built)."""

import yaml

from smk import REPO, planned_jobs, snakemake, write_config

TINY = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())


def test_unscored_pairs_are_skipped_and_no_pair_with_the_figure_is_rejected(tmp_path):
    online_only = {**TINY, "detectors": {"mahalanobis": {}}, "transforms": {},
                   "features": {"activations": {}}, "explain": {"scores": []},
                   "combinations": {}}  # fmt: skip
    online_only["figures"] = {"online_auroc_per_layer": {}, "comparisons_forest": {}}
    out = snakemake(tmp_path, write_config(tmp_path / "a.yaml", online_only), "-n", timeout=120)
    assert out.returncode != 0
    assert any(
        line.startswith("quirkymad: config: figures.comparisons_forest: no pair")
        and "que_vs_mahalanobis: not scored in this run: activations/none/que" in line
        for line in out.stderr.splitlines()
    ), out.stderr
    # Without the figure the run plans, with no comparison job.
    online_only["figures"] = {"online_auroc_per_layer": {}}
    jobs = planned_jobs(tmp_path, write_config(tmp_path / "b.yaml", online_only))
    assert "compare_scores" not in jobs and jobs["score_detector"] == 1
    # With QUE the QUE pair is kept: one comparison job over both scores.
    with_que = {**online_only, "detectors": {"mahalanobis": {}, "que": {}}}
    jobs = planned_jobs(tmp_path, write_config(tmp_path / "c.yaml", with_que))
    assert jobs["compare_scores"] == 1
