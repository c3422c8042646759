"""kill -9 during fine-tuning, rerun: the adapter and log equal an uninterrupted run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from safetensors.torch import load_file

from quirkymad.finetune import FinetuneSettings, finetune
from quirkymad.finetune.checkpoint import STATE_FILE

REPO = Path(__file__).resolve().parent.parent
# Enough steps that the kill lands mid-run; evaluations and a checkpoint every few steps.
SETTINGS = dict(lr=1e-2, max_train_examples=256, max_val_examples=16, epochs=3,
                batch_size=8, eval_every=8, patience=100, checkpoint_every=4)  # fmt: skip
# Timings differ between runs by nature.
TIMED = ["tokens_per_s"]


def _run(model_dir, parquet, out: Path) -> subprocess.Popen:
    code = (
        "import sys, json; from quirkymad.finetune import FinetuneSettings, finetune; "
        "finetune(sys.argv[1], sys.argv[2], sys.argv[3] + '/adapter', sys.argv[3] + '/log.csv', "
        "FinetuneSettings(**json.loads(sys.argv[4])))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [
        sys.executable,
        "-c",
        code,
        str(model_dir),
        str(parquet),
        str(out),
        json.dumps(SETTINGS),
    ]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_killed_run_resumes_to_the_same_adapter(tiny_model_dir, addition_parquet, tmp_path):
    ref = tmp_path / "ref"
    finetune(tiny_model_dir, addition_parquet, ref / "adapter", ref / "log.csv",
             FinetuneSettings(**SETTINGS))  # fmt: skip
    assert not (ref / "checkpoint").exists(), "checkpoint left after the adapter was written"

    out = tmp_path / "killed"
    proc = _run(tiny_model_dir, addition_parquet, out)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint" / STATE_FILE).exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    assert not (out / "adapter").exists(), "the run finished before the kill"

    summary = finetune(tiny_model_dir, addition_parquet, out / "adapter", out / "log.csv",
                       FinetuneSettings(**SETTINGS))  # fmt: skip
    assert summary["resumed_from_step"] > 0
    assert not (out / "checkpoint").exists()
    want = load_file(ref / "adapter" / "adapter_model.safetensors")
    got = load_file(out / "adapter" / "adapter_model.safetensors")
    assert want.keys() == got.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-6, atol=1e-7)
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "log.csv").drop(columns=TIMED),
        pd.read_csv(ref / "log.csv").drop(columns=TIMED),
        rtol=1e-6,
    )


def test_checkpoint_of_other_settings_is_ignored(tiny_model_dir, addition_parquet, tmp_path):
    from quirkymad.finetune.checkpoint import load_checkpoint, save_checkpoint

    save_checkpoint(tmp_path / "checkpoint", {"key": "other", "step": 3})
    assert load_checkpoint(tmp_path / "checkpoint", "other")["step"] == 3
    settings = FinetuneSettings(**{**SETTINGS, "epochs": 0.25})
    summary = finetune(tiny_model_dir, addition_parquet, tmp_path / "adapter",
                       tmp_path / "log.csv", settings)  # fmt: skip
    assert summary["resumed_from_step"] == 0
