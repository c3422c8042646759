"""What the integrity checks (issue 32) cost: write + read of default-run-shaped artifacts with
checksums and without, in the same run, and `quirkymad verify` on a default-run-sized tree.

Shapes (SmolLM2-135M default run): a store of `--layers` x `--examples` x 576 float32 per
dataset x feature (`--stores` of them), each read by `--reads` scoring jobs; `--tables` scoring
jobs' Parquet tables (per-record scores, one row per test record and layer); a prepared model
of 135 M float32 parameters (the 540 MB safetensors file `quirkymad verify` hashes).

Without checksums = what quirkymad wrote before: the same calls with the crc32c codec left
out (zstd stays on metadata arrays), no chunk-file check on open, no Parquet page checksums.

    .venv/bin/python bench/integrity.py            # ~1-2 min on 2 cores
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

import quirkymad.core.integrity as integrity
import quirkymad.core.store as store_mod
from quirkymad.core.store import open_store, write_store
from quirkymad.verify import verify_tree


@contextmanager
def checksums(on: bool):
    """Everything as written now (`on`), or with the checks taken out."""
    saved = (store_mod.zarr_compressors, store_mod.check_store_files, dict(integrity.PARQUET_WRITE))
    if not on:
        from zarr.codecs import ZstdCodec

        store_mod.zarr_compressors = lambda compressed: [ZstdCodec()] if compressed else None
        store_mod.check_store_files = lambda path: True
        integrity.PARQUET_WRITE.clear()
    try:
        yield
    finally:
        store_mod.zarr_compressors, store_mod.check_store_files = saved[:2]
        integrity.PARQUET_WRITE.update(saved[2])


def _store_inputs(args):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.examples, args.layers, 576)).astype(np.float32)
    meta = pd.DataFrame({"id": [f"rec{i:05d}" for i in range(args.examples)],
                         "name": rng.choice(["Alice", "Bob", "Carol"], args.examples),
                         "role": rng.choice(["trusted", "test"], args.examples)})  # fmt: skip
    arrays = {"activations": (("example", "layer", "d_model"), x),
              "log_odds": (("example",), rng.normal(size=args.examples))}  # fmt: skip
    return arrays, meta, list(range(1, args.layers + 1))


def _table(args, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = args.examples // 2 * (args.layers + 1)
    return pd.DataFrame({"example": [f"rec{i % 600:05d}" for i in range(n)],
                         "layer": [str(i // 600) for i in range(n)],
                         "character": rng.choice(["Alice", "Bob"], n),
                         "score": rng.normal(size=n), "is_anomalous": rng.random(n) < 0.5})  # fmt: skip


def io_seconds(root: Path, args, on: bool) -> float:
    """Write the stores and tables, read each store `reads` times (every layer) and each table."""
    arrays, meta, layers = _store_inputs(args)
    tables = [_table(args, i) for i in range(args.tables)]
    start = time.perf_counter()
    with checksums(on):
        for s in range(args.stores):
            path = root / f"s{s}.zarr"
            write_store(path, arrays, meta, layers, {"feature": "activations"})
            for _ in range(args.reads):
                ds = open_store(path, "activations")
                for li in range(len(layers)):
                    ds["activations"].isel(layer=li).values  # noqa: B018
        for i, df in enumerate(tables):
            integrity.write_parquet(df, root / f"t{i}.parquet")
            integrity.read_parquet(root / f"t{i}.parquet")
    return time.perf_counter() - start


def default_tree(root: Path, args) -> Path:
    """A results tree of the default run's size: stores, scoring directories, a model."""
    arrays, meta, layers = _store_inputs(args)
    results = root / "results"
    for s in range(args.stores):
        feature = ("activations", "attribution")[s % 2]
        write_store(results / f"m/d{s // 2}/features/{feature}.zarr", arrays, meta, layers,
                    {"feature": feature})  # fmt: skip
    for i in range(args.tables):
        with integrity_dir(results / f"m/d{i % 2}/scores/activations/none/det{i}") as tmp:
            integrity.write_parquet(_table(args, i), tmp / "scores.parquet")
    with integrity_dir(results / "models/m") as tmp:
        from safetensors.numpy import save_file

        weights = np.zeros(135_000_000, dtype=np.float32)
        (tmp / "weights").mkdir()
        save_file({"w": weights}, tmp / "weights" / "model.safetensors")
    return results


@contextmanager
def integrity_dir(path: Path):
    from quirkymad.core.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.mkdir()
        yield tmp


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=30)
    p.add_argument("--examples", type=int, default=1200)
    p.add_argument("--stores", type=int, default=4)
    p.add_argument("--reads", type=int, default=6, help="scoring jobs per store (24 / 4)")
    p.add_argument("--tables", type=int, default=24)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    print(f"{os.cpu_count()} CPUs; {args.stores} stores of {args.examples} x {args.layers} x 576"
          f" float32, {args.reads} reads each; {args.tables} score tables")  # fmt: skip
    best = {True: float("inf"), False: float("inf")}
    for _ in range(args.repeats):
        for on in (False, True):  # alternated, so drift in machine load hits both
            with tempfile.TemporaryDirectory() as d:
                best[on] = min(best[on], io_seconds(Path(d), args, on))
    extra = best[True] - best[False]
    print(f"write + read without checksums: {best[False]:.2f} s; with: {best[True]:.2f} s;"
          f" ratio {best[True] / best[False]:.3f} (+{extra:.2f} s per run)")  # fmt: skip
    print(f"  as a share of the default run's extraction + scoring (148 + 125 s, README):"
          f" {100 * extra / 273:.2f} %")  # fmt: skip
    # The same cost without I/O noise: crc32c over every byte the run checksums.
    import google_crc32c

    data = _store_inputs(args)[0]["activations"][1].tobytes()
    start = time.perf_counter()
    google_crc32c.value(data)
    per_store = time.perf_counter() - start
    print(f"  crc32c alone: {per_store * 1e3:.1f} ms per store ({len(data) / 1e6:.0f} MB,"
          f" {len(data) / per_store / 1e9:.1f} GB/s); {args.stores} x (1 write + {args.reads}"
          f" reads): {per_store * args.stores * (1 + args.reads):.2f} s per run"
          f" = {100 * per_store * args.stores * (1 + args.reads) / 273:.2f} % of 273 s")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        results = default_tree(Path(d), args)
        start = time.perf_counter()
        verdicts = verify_tree(results)
        took = time.perf_counter() - start
        print(f"quirkymad verify on a default-run-sized tree ({len(verdicts)} artifacts, "
              f"{sum(f.stat().st_size for f in results.rglob('*') if f.is_file()) / 1e9:.2f} GB):"
              f" {took:.1f} s; damaged: {sum(v.damaged is not None for v in verdicts)}")  # fmt: skip


if __name__ == "__main__":
    main()
