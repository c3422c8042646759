#!/usr/bin/env bash
# Install Debian's Slurm + munge for the local test cluster (scripts/slurm-local.sh). Needs root
# and apt-get; idempotent (skips when slurmctld and munged are already installed).
set -euo pipefail
if command -v slurmctld >/dev/null && command -v munged >/dev/null; then exit 0; fi
command -v apt-get >/dev/null || { echo "install-slurm: apt-get not found" >&2; exit 1; }
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
