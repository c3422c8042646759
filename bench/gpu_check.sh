#!/usr/bin/env bash
# Every CUDA path of quirkymad in one command (issue 22): <= 9 minutes on one H100/H200.
#   bash bench/gpu_check.sh [--out DIR] [--dry-run] [--help]
# Needs `bash scripts/setup.sh` (on a GPU box: the CUDA build of torch first, README "Running on
# a GPU"); installs nothing. Exit 0 only if every check passed; the logic is bench/gpu_check.py.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${QUIRKYMAD_PYTHON:-$repo/.venv/bin/python}"
if [[ ! -x "$python" ]]; then
    echo "gpu_check: $python not found; run \`bash scripts/setup.sh\` first" >&2
    exit 2
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "$python" "$repo/bench/gpu_check.py" "$@"
