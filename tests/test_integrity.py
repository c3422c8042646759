"""Issue 32: a damaged artifact is found on read and named in one line with its rebuild command
(quirkymad/core/integrity.py, quirkymad/core/layout.py, quirkymad/verify.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quirkymad.cli import main
from quirkymad.core import integrity
from quirkymad.core.atomic import atomic_path
from quirkymad.core.errors import QuirkyError
from quirkymad.core.integrity import (
    MANIFEST,
    DamagedArtifact,
    check_safetensors,
    check_weights,
    read_parquet,
    verify_artifact,
    write_parquet,
)
from quirkymad.core.layout import rebuild_command, writer
from quirkymad.core.logs import job_log
from quirkymad.core.store import open_store, write_store

STORE = "results/m/d/features/activations.zarr"
LINE = re.compile(
    r"^quirkymad: (\S+) is damaged \((.+)\); rebuild it with: snakemake --forcerun (\S+)$"
)


@pytest.fixture(autouse=True)
def _fresh_process():
    """Each job is a process of its own; here the tests share one, so what a test opened is
    forgotten after it."""
    yield
    integrity._TOUCHED.clear()


def _store(root: Path, rel: str = STORE) -> Path:
    rng = np.random.default_rng(0)
    meta = pd.DataFrame({"id": [f"r{i}" for i in range(40)], "name": ["Alice"] * 40,
                         "agree": [False] * 40})  # fmt: skip
    arrays = {"activations": (("example", "layer", "d"), rng.normal(size=(40, 3, 8)).astype("f4")),
              "logit_yes": (("example",), np.zeros(40))}  # fmt: skip
    write_store(root / rel, arrays, meta, [1, 2, 3], {"feature": "activations"})
    return root / rel


def _flip(path: Path, at: int = 40) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x10
    path.write_bytes(bytes(data))


def _one_line(capsys) -> re.Match:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    m = LINE.match(err[0])
    assert m, err[0]
    return m


def test_every_store_array_has_a_checksum_and_xarray_still_reads_it(tmp_path):
    import xarray as xr

    store = _store(tmp_path)
    for meta in store.glob("*/zarr.json"):
        assert json.loads(meta.read_text())["codecs"][-1]["name"] == "crc32c", meta
    # zarr skips chunks equal to the fill value unless told; an all-zero array is on disk too.
    assert (store / "logit_yes" / "c" / "0").is_file()
    ds = xr.open_zarr(store)
    assert ds["activations"].shape == (40, 3, 8) and float(ds["logit_yes"].sum()) == 0.0
    assert verify_artifact(store) is None


def test_a_truncated_chunk_is_found_on_open_and_a_flipped_byte_on_read(tmp_path, capsys):
    store = _store(tmp_path)
    chunk = store / "activations" / "c" / "0" / "1" / "0"
    saved = chunk.read_bytes()
    os.truncate(chunk, 100)
    with pytest.raises(DamagedArtifact, match="chunk of 100 bytes"):
        open_store(store)
    chunk.write_bytes(saved)
    _flip(chunk)
    ds = open_store(store)  # sizes are right: found when the chunk is decoded
    with pytest.raises(SystemExit), job_log(None):
        ds["activations"].values  # noqa: B018  a plain ValueError from inside zarr
    m = _one_line(capsys)
    assert m[1] == str(chunk) and "checksum" in m[2] and m[3] == STORE


def test_a_failure_with_intact_inputs_keeps_its_traceback(tmp_path):
    ds = open_store(_store(tmp_path))
    with pytest.raises(ZeroDivisionError), job_log(None):
        float(ds["logit_yes"].sum()) / 0  # noqa: B018


def test_a_store_written_before_checksums_is_checked_for_structure(tmp_path):
    import xarray as xr

    store = tmp_path / "old.zarr"
    ds = xr.Dataset({"x": (("example", "layer"), np.ones((5, 2), "f4"))},
                    attrs={"quirkymad_store": True, "complete": True})  # fmt: skip
    ds.to_zarr(store, zarr_format=3, encoding={"x": {"compressors": None, "chunks": (5, 1)}},
               consolidated=False)  # fmt: skip
    assert "no checksums" in verify_artifact(store)
    os.truncate(store / "x" / "c" / "0" / "1", 7)
    with pytest.raises(DamagedArtifact, match="7 bytes, 20 expected"):
        verify_artifact(store)


def test_parquet_truncated_or_flipped_is_named(tmp_path):
    df = pd.DataFrame({"x": np.arange(3000, dtype=float), "s": ["a"] * 3000})
    path = tmp_path / "results" / "tables" / "auroc.parquet"
    path.parent.mkdir(parents=True)
    write_parquet(df, path)
    saved = path.read_bytes()
    _flip(path, at=1000)
    with pytest.raises(DamagedArtifact, match="CRC|checksum") as exc:
        read_parquet(path)
    assert "snakemake --forcerun results/tables/auroc.parquet" in str(exc.value)
    path.write_bytes(saved[:2000])
    with pytest.raises(DamagedArtifact, match="magic bytes"):
        read_parquet(path)
    with pytest.raises(DamagedArtifact, match="magic bytes"):
        verify_artifact(path)


def _weights_dir(path: Path) -> Path:
    import torch
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        tmp.mkdir()
        save_file({"a": torch.ones(4, 8), "b": torch.zeros(3)}, tmp / "adapter_model.safetensors")
        (tmp / "adapter_config.json").write_text("{}")
    return path


def test_half_written_safetensors_and_a_deleted_adapter_file(tmp_path):
    adapter = _weights_dir(tmp_path / "results" / "m" / "d" / "adapter")
    assert json.loads((adapter / MANIFEST).read_text())["files"].keys() == {
        "adapter_config.json", "adapter_model.safetensors",
    }  # fmt: skip
    check_weights(adapter)
    weights = adapter / "adapter_model.safetensors"
    saved = weights.read_bytes()
    for cut in (len(saved) - 5, 4, 20):  # data, header length, header JSON cut short
        weights.write_bytes(saved[:cut])
        with pytest.raises(DamagedArtifact):
            check_safetensors(weights)
    weights.write_bytes(saved)
    _flip(weights, at=len(saved) - 3)  # no checksum in the format: the file list's hash
    check_weights(adapter)
    with pytest.raises(DamagedArtifact, match="sha256"):
        verify_artifact(adapter)
    weights.write_bytes(saved)
    (adapter / "adapter_config.json").unlink()
    with pytest.raises(DamagedArtifact, match="missing") as exc:
        check_weights(adapter)
    assert str(exc.value).startswith(f"{adapter / 'adapter_config.json'} is damaged")
    assert str(exc.value).endswith("snakemake --forcerun results/m/d/adapter")


def test_a_store_has_no_file_list_and_a_directory_written_without_one_is_a_note(tmp_path):
    store = _store(tmp_path)
    assert not (store / MANIFEST).exists()
    bare = tmp_path / "results" / "m" / "d" / "scores" / "activations" / "none" / "lof"
    bare.mkdir(parents=True)
    write_parquet(pd.DataFrame({"x": [1.0]}), bare / "auroc.parquet")
    assert "no file list" in verify_artifact(bare)


@pytest.mark.parametrize(
    ("path", "rule", "output"),
    [
        ("results/models/smollm2-135m/weights/model.safetensors", "prepare_model", "results/models/smollm2-135m"),
        ("results/datasets/population/data.parquet", "build_dataset", None),
        ("/x/results/m/seed1/d/adapter/adapter_config.json", "finetune_adapter", "results/m/seed1/d/adapter"),
        (f"{STORE}/activations/c/0/3/0", "extract_activations", STORE),
        ("results/m/d/features/attribution.zarr", "extract_attribution", None),
        ("results/m/d/features/probe_shift.zarr", "extract_probe_shift", None),
        ("results/m/d/features/activations_base.zarr", "extract_base_activations", None),
        ("results/m/d/scores/activations/flow/mahalanobis/auroc.parquet", "score_detector",
         "results/m/d/scores/activations/flow/mahalanobis"),
        ("results/tables/auroc_online.parquet", "collect_auroc_setting", None),
        ("results/tables/auroc_combinations.parquet", "collect_auroc_combinations", None),
    ],
)  # fmt: skip
def test_layout_names_the_rule_and_output_of_a_path(path, rule, output):
    assert writer(path) == (output or path, rule)
    assert rebuild_command(path) == f"snakemake --forcerun {output or path}"
    assert writer("results/benchmarks/x.tsv") is None


@pytest.mark.slow
def test_layout_matches_every_output_of_the_workflow(tmp_path):
    """Every file a run with every rule (tiny config, two seeds) would write, as Snakemake's
    --detailed-summary lists it with its rule, is mapped to that rule by `writer`."""
    import yaml

    from smk import REPO, snakemake, write_config

    config = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())
    config["seeds"] = [0, 1]
    cfg = write_config(tmp_path / "c.yaml", config)
    out = snakemake(tmp_path, cfg, "--detailed-summary", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split("\t") for line in out.stdout.splitlines()[1:] if "\t" in line]
    rules = {rule for _, _, rule, *_ in rows}
    assert len(rows) > 100 and {"score_detector", "extract_attribution", "collect_sweep"} <= rules
    wrong = [(path, rule, writer(path)) for path, _, rule, *_ in rows if
             path.startswith("results/") and not path.startswith("results/benchmarks/")
             and (writer(path) or (None, None))[1] != rule]  # fmt: skip
    assert not wrong, wrong[:10]


def test_verify_cli_one_line_per_damaged_artifact(tmp_path, capsys):
    root = tmp_path / "results"
    store = _store(tmp_path)
    _weights_dir(root / "m" / "d" / "adapter")
    (root / "tables").mkdir()
    write_parquet(pd.DataFrame({"x": np.arange(100.0)}), root / "tables" / "auroc.parquet")
    assert main(["verify", str(root)]) == 0
    assert capsys.readouterr().out.startswith("3 of 3 artifacts intact, 0 damaged (")
    shutil.copy(root / "tables" / "auroc.parquet", root / "tables" / "auroc_online.parquet")
    os.truncate(root / "tables" / "auroc.parquet", 50)
    _flip(store / "activations" / "c" / "0" / "2" / "0")
    (root / "m" / "d" / "adapter" / "adapter_config.json").unlink()
    assert main(["verify", str(root)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    damaged = sorted(LINE.match(line)[3] for line in out[:-1])
    assert damaged == ["results/m/d/adapter", STORE, "results/tables/auroc.parquet"], out
    assert out[-1].startswith("1 of 4 artifacts intact, 3 damaged")
    with pytest.raises(QuirkyError):
        from quirkymad.verify import verify_tree

        verify_tree(tmp_path / "nothing")
