"""Issue 32 on a run: a damaged artifact is named by the job that reads it and by
`quirkymad verify`, each in one line with the command that rebuilds it; after that command the
run's tables equal the undamaged run's (`quirkymad compare-runs`).

Damage keeps the file's timestamps (as a copy that preserves them, or a flaky filesystem,
would): Snakemake sees nothing, so the reading job is run on purpose (`--forcerun`, only its
rule allowed).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from quirkymad.cli import main

from smk import REPO, finished_run, snakemake

pytestmark = pytest.mark.slow

TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())
# The slimmest run that has every kind of artifact: dataset, model, adapter, store, scores.
SLIM = {
    **TINY,
    "features": {"activations": {}},
    "detectors": {"mahalanobis": TINY["detectors"]["mahalanobis"]},
    "transforms": {},
    "figures": {},
    "explain": {**TINY["explain"], "scores": []},
    "sweeps": {},
    "combinations": {},
}
RUN = "results/tiny-random/addition"
STORE = f"{RUN}/features/activations.zarr"
ADAPTER = f"{RUN}/adapter"
DATA = "results/datasets/addition/data.parquet"
SCORES = f"{RUN}/scores/activations/none/mahalanobis"
EXTRACT = ("extract_activations", STORE, "logs/extract_activations/tiny-random/addition.log")
SCORE = ("score_detector", SCORES,
         "logs/score_detector/tiny-random/addition/activations/none/mahalanobis.log")  # fmt: skip
LINE = re.compile(
    r"^quirkymad: (\S+) is damaged \((.+)\); rebuild it with: snakemake --forcerun (\S+)$"
)


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


# case -> (damaged file, what is done to it, the reading job (rule, output, log), rebuild target)
CASES = {
    "truncated_chunk": (f"{STORE}/activations/c/0/1/0", _truncate, SCORE, STORE),
    "flipped_byte_in_chunk": (f"{STORE}/activations/c/0/0/0", _flip, SCORE, STORE),
    "truncated_parquet": (DATA, _truncate, EXTRACT, DATA),
    "deleted_adapter_file": (f"{ADAPTER}/adapter_config.json", Path.unlink, EXTRACT, ADAPTER),
    "half_written_safetensors": (f"{ADAPTER}/adapter_model.safetensors", _truncate, EXTRACT, ADAPTER),
}  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return finished_run(tmp_path_factory, "reference", "slim.yaml", SLIM)[0]


def _damage(wd: Path, case: str) -> None:
    """Damage the case's file, keeping the timestamps of it and of its directory."""
    rel, how, *_ = CASES[case]
    path = wd / rel
    times = [(p, p.stat()) for p in (path, path.parent)]
    how(path)
    for p, st in times:
        if p.exists():
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture(scope="module")
def damaged(reference, tmp_path_factory):
    """The reference run with every case's damage at once."""
    wd = tmp_path_factory.mktemp("damaged") / "wd"
    shutil.copytree(reference, wd, symlinks=True)
    for case in CASES:
        _damage(wd, case)
    return wd


def _verify_names(wd: Path, case: str, capsys) -> None:
    rel, *_, target = CASES[case]
    assert main(["verify", str(wd / "results")]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and re.match(r"\d+ of \d+ artifacts intact, 1 damaged", lines[1]), lines
    m = LINE.match(lines[0])
    assert m and m[1] == str(wd / rel) and m[3] == target, lines[0]


def _assert_one_line(log: Path, stderr: str, case: str) -> None:
    rel, *_, target = CASES[case]
    last = log.read_text().strip().splitlines()[-1]
    m = LINE.match(last)
    assert m, last
    assert Path(m[1]).parts[-len(Path(rel).parts) :] == Path(rel).parts and m[3] == target, last
    assert last in stderr.splitlines()  # on the terminal too, as one line


def test_a_snakemake_job_names_the_damage_in_one_line(reference, tmp_path, capsys):
    wd = tmp_path / "wd"
    shutil.copytree(reference, wd, symlinks=True)
    _damage(wd, "truncated_chunk")
    rule, output, log = SCORE
    out = snakemake(wd, wd / "slim.yaml", "--cores", "1", "--forcerun", output,
                    "--allowed-rules", rule, "--", output)  # fmt: skip
    assert out.returncode != 0
    _assert_one_line(wd / log, out.stderr, "truncated_chunk")
    _verify_names(wd, "truncated_chunk", capsys)


def _run_job(wd: Path, reading: tuple[str, str, str]) -> None:
    """The reading job's library call as its workflow script makes it, in this process."""
    from quirkymad.core.logs import job_log
    from quirkymad.features.extraction import ExtractSettings, extract_activation_store
    from quirkymad.scoring.stage import score_to_directory
    from quirkymad.stats.settings import ScoringSettings

    rule, output, log = reading
    with job_log(wd / log, 1):
        if rule == "score_detector":
            labels = {"model": "tiny-random", "dataset": "addition", "seed": 0, "transform": "none"}
            score_to_directory(wd / output, wd / STORE, feature="activations",
                               detector="mahalanobis", hparams={}, labels=labels,
                               scoring=ScoringSettings(n_bootstrap=0), seed=0)  # fmt: skip
        else:
            extract_activation_store(wd / "results/models/tiny-random", wd / ADAPTER, wd / DATA,
                                     wd / output, ExtractSettings(device="cpu"))  # fmt: skip


@pytest.mark.parametrize("case", sorted(set(CASES) - {"truncated_chunk"}))
def test_the_reading_job_and_verify_name_the_damage_in_one_line(case, reference, tmp_path, capsys):
    """The other cases' reading jobs, run in this process (Snakemake adds nothing here: the
    line is the job's own, see the test above)."""
    from quirkymad.core import integrity

    wd = tmp_path / "wd"
    shutil.copytree(reference, wd, symlinks=True)
    _damage(wd, case)
    integrity._TOUCHED.clear()  # one process per job in a run
    with pytest.raises(SystemExit):
        _run_job(wd, CASES[case][2])
    _assert_one_line(wd / CASES[case][2][2], capsys.readouterr().err, case)
    _verify_names(wd, case, capsys)


def test_the_suggested_rebuild_restores_the_run(damaged, reference, capsys):
    assert main(["verify", str(damaged / "results")]) == 1
    lines = capsys.readouterr().out.strip().splitlines()[:-1]
    targets = sorted({LINE.match(line)[3] for line in lines})
    assert targets == sorted({t for *_, t in CASES.values()}), lines
    out = snakemake(damaged, damaged / "slim.yaml", "--cores", "2", "--forcerun", *targets)
    assert out.returncode == 0, out.stderr[-3000:]
    assert main(["verify", str(damaged / "results")]) == 0
    capsys.readouterr()
    assert main(["compare-runs", str(reference), str(damaged)]) == 0, capsys.readouterr().out
