"""Zarr layouts for a feature array `(example, layer, d_model)`: write time, read time of one
layer (what a detector reads) and of the whole array, and size on disk, for a few chunkings
and compressors, measured in the same run (the numbers behind quirkymad/core/store.py's choice).

Data: an activation-like float32 array (a random low-rank signal plus noise per layer, no
exact zeros), default SmolLM2-sized: 1000 examples × 30 layers × 576.

    PYTHONPATH=. python bench/zarr_layout.py [--n 1000] [--layers 30] [--d 576]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
import zarr
from zarr.codecs import BloscCodec, ZstdCodec


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--d", type=int, default=576)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((32, a.d)).astype(np.float32)
    x = np.einsum("nlk,kd->nld", rng.standard_normal((a.n, a.layers, 32), np.float32), basis)
    x += 0.3 * rng.standard_normal(x.shape, dtype=np.float32)
    ds = xr.Dataset({"activations": (("example", "layer", "d_model"), x)})
    layouts = {
        "layer chunks, raw": ((a.n, 1, a.d), None),
        "layer chunks, zstd-3": ((a.n, 1, a.d), [ZstdCodec(level=3)]),
        "layer chunks, blosc-lz4": ((a.n, 1, a.d), [BloscCodec(cname="lz4", clevel=5)]),
        "example blocks of 128, raw": ((min(128, a.n), a.layers, a.d), None),
        "one chunk, raw": ((a.n, a.layers, a.d), None),
    }
    print(f"array {x.shape} float32, {x.nbytes / 2**20:.0f} MiB in memory; zarr {zarr.__version__}")
    print(f"{'layout':28s} {'write s':>8s} {'1 layer s':>10s} {'all s':>8s} {'MiB':>8s}")
    with tempfile.TemporaryDirectory() as d:
        for name, (chunks, compressors) in layouts.items():
            path = Path(d) / "s.zarr"
            enc = {"activations": {"chunks": chunks, "compressors": compressors}}
            t0 = time.perf_counter()
            ds.to_zarr(path, zarr_format=3, mode="w", encoding=enc, consolidated=False)
            t_write = time.perf_counter() - t0
            opened = xr.open_zarr(path, consolidated=False)
            t0 = time.perf_counter()
            one = opened["activations"].isel(layer=a.layers // 2).values
            t_layer = time.perf_counter() - t0
            t0 = time.perf_counter()
            full = opened["activations"].values
            t_all = time.perf_counter() - t0
            assert np.array_equal(full, x) and np.array_equal(one, x[:, a.layers // 2])
            size = dir_size(path) / 2**20
            print(f"{name:28s} {t_write:8.3f} {t_layer:10.4f} {t_all:8.3f} {size:8.1f}")
            shutil.rmtree(path)


if __name__ == "__main__":
    main()
