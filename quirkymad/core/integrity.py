"""Reading artifacts, verified: a damaged byte is found on read, and named, not turned into
wrong numbers (issue 32; docs/reliability.md "Damaged artifacts").

What each kind of artifact carries, and what is checked:

- **Zarr stores**: every array we write ends its codec chain with zarr's `crc32c` codec
  (`zarr.codecs.Crc32cCodec`, part of the Zarr v3 spec), and every chunk is written (also
  chunks equal to the fill value), so a chunk that is missing, cut short or has a flipped byte
  fails its read. Opening a store also checks its chunk files exist and, for uncompressed
  arrays, have their exact size (a `stat` per chunk, no data read).
- **Parquet tables**: page checksums (`write_page_checksum=True`), verified on every read.
- **safetensors** (prepared model, adapters, fitted transforms): the format has no checksum;
  its header is checked (8-byte length, JSON, every tensor's byte range inside the file and
  the ranges covering the data exactly), which finds a half-written file.
- **Directory artifacts** other than stores (a prepared model, an adapter, a transform, a
  scoring job's directory) carry `MANIFEST`, every file's size and sha256, written by
  `quirkymad.core.atomic.atomic_path`: a deleted or truncated file is found when the directory is
  opened (sizes), a changed byte by `quirkymad verify` (hashes).

A job that fails for another reason (an exception from inside zarr, pyarrow or transformers)
is checked at its boundary (`quirkymad.core.logs.job_log`): the artifacts it opened are verified in
full, and a damaged one is named instead of the traceback (`diagnose`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any

from quirkymad.core.errors import QuirkyError
from quirkymad.core.layout import rebuild_command

MANIFEST = "quirkymad-files.json"
# The root attribute `quirkymad.core.store.write_store` sets on a complete feature store (with
# `complete`); defined here, where stores are verified, so that this module needs no store.
MARKER = "quirkymad_store"
# Artifacts a job opened, in order: what `diagnose` verifies when the job fails.
_TOUCHED: list[Path] = []


class DamagedArtifact(QuirkyError):
    """`path` is damaged or incomplete; the message names it, what is wrong and the command
    that rebuilds it (quirkymad/core/layout.py)."""

    def __init__(self, path: str | Path, what: str):
        self.path, self.what = Path(path), what
        super().__init__(f"{path} is damaged ({what}); rebuild it with: {rebuild_command(path)}")


def touched(path: str | Path) -> None:
    """Remember that this process read `path` (see `diagnose`)."""
    p = Path(path)
    if p not in _TOUCHED:
        _TOUCHED.append(p)


def diagnose() -> DamagedArtifact | None:
    """After a job failed: the first artifact it opened that fails a full check, if any."""
    for path in list(_TOUCHED):
        try:
            verify_artifact(path, deep=True)
        except DamagedArtifact as exc:
            return exc
        except Exception:  # the check itself failed: not evidence of damage
            continue
    return None


# --- Parquet ---------------------------------------------------------------------------------

# pyarrow writer options of every table (pyarrow.parquet.write_table / DataFrame.to_parquet).
PARQUET_WRITE = {"write_page_checksum": True}


def write_parquet(df, path: str | Path) -> None:
    """`df` (a DataFrame) as Parquet at `path`, without its index, with page checksums."""
    df.to_parquet(path, index=False, **PARQUET_WRITE)


def read_parquet(path: str | Path, **kwargs):
    """`pandas.read_parquet` with page checksums verified; DamagedArtifact naming the file if
    it is missing, cut short or fails a checksum."""
    import pandas as pd
    import pyarrow as pa

    touched(path)
    try:
        return pd.read_parquet(path, page_checksum_verification=True, **kwargs)
    except FileNotFoundError:
        raise DamagedArtifact(path, "missing") from None
    except (OSError, pa.ArrowException) as exc:
        raise DamagedArtifact(path, _first_line(exc)) from exc


def _check_parquet(path: Path, deep: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if deep:
            pq.read_table(path, page_checksum_verification=True)
        else:
            pq.ParquetFile(path).metadata  # noqa: B018  the footer parses
    except (OSError, pa.ArrowException) as exc:
        raise DamagedArtifact(path, _first_line(exc)) from exc


def _first_line(exc: BaseException) -> str:
    """`Type: first line`, without zarr's raw checksum bytes (they would break the line)."""
    text = (str(exc).strip().splitlines() or [""])[0].split(". Stored: ")[0]
    return f"{type(exc).__name__}: {text}"


# --- safetensors -----------------------------------------------------------------------------

_ST_BYTES = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
             "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}  # fmt: skip


def check_safetensors(path: str | Path) -> None:
    """The safetensors header of `path` against the file: an 8-byte little-endian header
    length N, N bytes of JSON, then the tensors' bytes, which the header's `data_offsets`
    must cover exactly (github.com/huggingface/safetensors, "Format")."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if n < 0 or n > size - 8:
            raise DamagedArtifact(path, f"safetensors header of {n} bytes, file has {size}")
        try:
            header = json.loads(fh.read(n))
        except ValueError:
            raise DamagedArtifact(path, "safetensors header is not valid JSON") from None
    data = size - 8 - n
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, stop = info["data_offsets"]
        width = _ST_BYTES.get(info["dtype"])
        if width is not None and stop - begin != width * math.prod(info["shape"]):
            raise DamagedArtifact(path, f"tensor {name}: byte range does not fit its shape")
        end = max(end, stop)
    if end != data:
        raise DamagedArtifact(path, f"tensor data of {data} bytes, header says {end} (cut short?)")


# --- directory manifests ---------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(directory: str | Path) -> None:
    """Record every file of `directory` (size, sha256) in its `MANIFEST`."""
    directory = Path(directory)
    files = {
        f.relative_to(directory).as_posix(): {"size": f.stat().st_size, "sha256": _sha256(f)}
        for f in sorted(directory.rglob("*"))
        if f.is_file() and f.name != MANIFEST
    }
    (directory / MANIFEST).write_text(json.dumps({"files": files}, indent=1) + "\n")


def check_manifest(directory: str | Path, deep: bool = False) -> bool:
    """The files of `directory` against its manifest (sizes; sha256 too if `deep`). False if
    it has none (written before integrity checks)."""
    directory = Path(directory)
    try:
        files = json.loads((directory / MANIFEST).read_text())["files"]
    except FileNotFoundError:
        return False
    except (ValueError, KeyError):
        raise DamagedArtifact(directory / MANIFEST, "not a valid file list") from None
    for rel, info in files.items():
        f = directory / rel
        if not f.is_file():
            raise DamagedArtifact(f, f"missing; listed in {MANIFEST}")
        if f.stat().st_size != info["size"]:
            raise DamagedArtifact(f, f"{f.stat().st_size} bytes, {info['size']} written")
        if deep and _sha256(f) != info["sha256"]:
            raise DamagedArtifact(f, "content differs from what was written (sha256)")
    return True


def check_weights(directory: str | Path) -> None:
    """Before loading a prepared model or adapter: its manifest's sizes, and the header of
    every safetensors file in it (no tensor data read)."""
    directory = Path(directory)
    touched(directory)
    if not directory.is_dir():
        raise DamagedArtifact(directory, "missing")
    check_manifest(directory)
    for f in sorted(directory.rglob("*.safetensors")):
        check_safetensors(f)


# --- Zarr stores -----------------------------------------------------------------------------


def zarr_compressors(compressed: bool) -> list[Any]:
    """The bytes-to-bytes codecs of a store array: zstd (zarr's default) if `compressed`, and
    the crc32c checksum last, so it covers the bytes as they lie on disk."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return [ZstdCodec(), Crc32cCodec()] if compressed else [Crc32cCodec()]


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DamagedArtifact(path, "missing") from None
    except ValueError:
        raise DamagedArtifact(path, "not valid JSON") from None


def store_arrays(store: Path) -> dict[str, dict[str, Any]]:
    """name -> Zarr v3 array metadata (zarr.json) of every array of a flat store (xarray's)."""
    root = _json(store / "zarr.json")
    if root.get("node_type") != "group":
        raise DamagedArtifact(store / "zarr.json", "not a Zarr v3 group")
    names = sorted(p.parent.name for p in store.glob("*/zarr.json"))
    consolidated = (root.get("consolidated_metadata") or {}).get("metadata") or {}
    for name in consolidated:
        if name not in names:
            raise DamagedArtifact(store / name / "zarr.json", "missing (array listed in the store)")
    return {name: _json(store / name / "zarr.json") for name in names}


def has_checksums(meta: dict[str, Any]) -> bool:
    return any(c.get("name") == "crc32c" for c in meta.get("codecs", []))


def _chunk_keys(meta: dict[str, Any]) -> list[str]:
    """Every chunk key of a regular-grid array (Zarr v3 spec, "chunk key encoding")."""
    grid = meta["chunk_grid"]["configuration"]["chunk_shape"]
    enc = meta["chunk_key_encoding"]
    sep = (enc.get("configuration") or {}).get(
        "separator", "/" if enc["name"] == "default" else "."
    )
    counts = [range(-(-s // c)) for s, c in zip(meta["shape"], grid, strict=True)]
    keys = [sep.join(map(str, idx)) for idx in itertools.product(*counts)]
    if enc["name"] == "default":
        return [f"c{sep}{k}" if k else "c" for k in keys]
    return [k or "0" for k in keys]


def _fixed_chunk_bytes(meta: dict[str, Any]) -> int | None:
    """On-disk bytes of every chunk of an uncompressed fixed-width array, else None."""
    import numpy as np

    names = [c.get("name") for c in meta.get("codecs", [])]
    if names not in (["bytes"], ["bytes", "crc32c"]) or not isinstance(meta["data_type"], str):
        return None
    try:
        width = np.dtype(meta["data_type"]).itemsize
    except TypeError:
        return None
    shape = meta["chunk_grid"]["configuration"]["chunk_shape"]
    return width * math.prod(shape) + 4 * (names[-1] == "crc32c")


def check_store_files(store: str | Path) -> bool:
    """Every chunk file of every array is there (arrays with checksums are written with every
    chunk) and has its exact size where that is fixed; True if every array has checksums.
    Reads metadata only."""
    store = Path(store)
    all_checked = True
    for name, meta in store_arrays(store).items():
        checked = has_checksums(meta)
        all_checked &= checked
        size = _fixed_chunk_bytes(meta)
        for key in _chunk_keys(meta):
            f = store / name / key
            if not f.is_file():
                if checked:
                    raise DamagedArtifact(f, "chunk missing")
                continue
            if size is not None and f.stat().st_size != size:
                raise DamagedArtifact(f, f"chunk of {f.stat().st_size} bytes, {size} expected")
    return all_checked


def check_store_data(store: str | Path) -> None:
    """Decode every chunk of every array (crc32c verified where the array has it)."""
    import zarr

    store = Path(store)
    for name, meta in store_arrays(store).items():
        array = zarr.open_array(store / name, mode="r", zarr_format=3)
        keys = _chunk_keys(meta)
        counts = [range(-(-s // c)) for s, c in zip(array.shape, array.chunks, strict=True)]
        for key, idx in zip(keys, itertools.product(*counts), strict=True):
            try:
                array.get_block_selection(idx) if idx else array[...]
            except Exception as exc:
                raise DamagedArtifact(store / name / key, _first_line(exc)) from exc


# --- any artifact ----------------------------------------------------------------------------


def verify_artifact(path: str | Path, deep: bool = True) -> str | None:
    """Check one artifact (a store, a Parquet or safetensors file, a directory); raise
    DamagedArtifact if damaged. Returns a note for one written before integrity checks
    (nothing to check it against), else None."""
    path = Path(path)
    if not path.exists():
        raise DamagedArtifact(path, "missing")
    if path.suffix == ".zarr":
        return _verify_store(path, deep)
    if path.suffix == ".parquet":
        _check_parquet(path, deep)
    elif path.suffix == ".safetensors":
        check_safetensors(path)
    elif path.is_dir():
        listed = check_manifest(path, deep)
        for f in sorted(path.rglob("*")):
            if f.suffix in (".parquet", ".safetensors") and f.is_file():
                verify_artifact(f, deep)
        if not listed:
            return "no file list (written before integrity checks): files checked one by one"
    return None


def _verify_store(path: Path, deep: bool) -> str | None:
    attrs = _json(path / "zarr.json").get("attributes", {})
    if not attrs.get(MARKER) or not attrs.get("complete"):
        raise DamagedArtifact(path, f"not a complete quirkymad store (no {MARKER!r} mark)")
    checked = check_store_files(path)
    if deep:
        check_store_data(path)
    if not checked:
        return "no checksums (written before integrity checks): verified structure only"
    return None
