#!/usr/bin/env bash
# A real single-node Slurm (slurmctld + slurmd + munge, no slurmdbd) on this machine, for
# testing the SLURM profile: scripts/slurm-local.sh start|stop|status|env
# State (config, spool, logs, pids, munge key) lives in .slurm/ (git-ignored). Needs root and
# Debian's slurm-wlm + munge (scripts/install-slurm.sh). Idempotent; stops only its own daemons,
# by the pids in its pid files. Recipe and measurements: shared spec slurm.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${QUIRKYMAD_SLURM_STATE:-$ROOT/.slurm}
CONF=$STATE/slurm.conf
ETC=/etc/slurm/slurm.conf
MUNGE_SOCKET=$STATE/munge/munge.socket
export SLURM_CONF=$CONF

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
die() { echo "slurm-local: $*" >&2; exit 1; }

write_conf() {
  local host node
  host=$(hostname -s)
  # First line of `slurmd -C` describes this node; keep 90 % of its memory for jobs.
  node=$(slurmd -C | head -1 | awk '{for (i = 1; i <= NF; i++) {
      if ($i ~ /^RealMemory=/) { split($i, a, "="); $i = "RealMemory=" int(a[2] * 0.9) } }
    print }')
  cat > "$CONF" <<CONF
# Written by scripts/slurm-local.sh; regenerated on every fresh start.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without it a job with no --mem takes the whole node and jobs run one at a time.
DefMemPerCPU=500
# Reject (instead of leaving PENDING forever) a job asking for more than the node has.
EnforcePartLimits=ALL
ReturnToService=2
# No accounting: Snakemake polls squeue, which must still list finished jobs (profile comment).
MinJobAge=600
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

wait_for() {  # wait_for SECONDS CMD...: retry CMD every 0.2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
ctld_up() { scontrol ping | grep -q UP; }
node_idle() { sinfo -h -o %t | grep -qx idle; }
queue_empty() { [ -z "$(squeue -h -t R,CG,PD -o %i 2>/dev/null)" ]; }

start() {
  command -v slurmctld >/dev/null || die "slurmctld not found (install: bash scripts/install-slurm.sh)"
  [ "$(id -u)" = 0 ] || die "must run as root (the daemons run as root)"
  mkdir -p "$STATE"/{ctld,slurmd} "$STATE/munge"
  chmod 0755 "$STATE" "$STATE/munge"
  alive "$STATE/slurmctld.pid" || write_conf
  # Jobstep strips every SLURM_* variable (SLURM_CONF too) before its nested srun, so the
  # config must also be found at the default path: symlink it, never overwrite a real one.
  mkdir -p /etc/slurm
  if [ -e "$ETC" ] || [ -L "$ETC" ]; then
    [ "$(readlink "$ETC" || true)" = "$CONF" ] || die "$ETC exists and is not ours; refusing"
  else
    ln -s "$CONF" "$ETC"
  fi
  if [ ! -f "$STATE/munge/munge.key" ]; then
    dd if=/dev/urandom bs=1 count=1024 of="$STATE/munge/munge.key" status=none
    chmod 0400 "$STATE/munge/munge.key"
  fi
  if ! alive "$STATE/munge/munged.pid"; then
    munged --force --key-file="$STATE/munge/munge.key" --socket="$MUNGE_SOCKET" \
      --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" \
      --seed-file="$STATE/munge/munged.seed"
  fi
  alive "$STATE/slurmctld.pid" || slurmctld -f "$CONF"
  wait_for 30 ctld_up || die "slurmctld did not come up (see $STATE/slurmctld.log)"
  alive "$STATE/slurmd.pid" || slurmd -f "$CONF"
  wait_for 30 node_idle || die "node not idle after 30 s (see $STATE/slurmd.log; sinfo: $(sinfo -h -o %t 2>&1))"
  echo "slurm-local: up (SLURM_CONF=$CONF)"
}

stop_pid() {  # stop_pid PIDFILE: TERM, wait up to 15 s, then KILL
  local pidfile=$1 pid
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop() {
  if alive "$STATE/slurmctld.pid"; then
    local ids
    ids=$(squeue -h -o %i 2>/dev/null || true)
    [ -z "$ids" ] || scancel $ids || true
    wait_for 30 queue_empty || echo "slurm-local: jobs still listed after 30 s" >&2
  fi
  stop_pid "$STATE/slurmd.pid"
  stop_pid "$STATE/slurmctld.pid"
  stop_pid "$STATE/munge/munged.pid"
  [ "$(readlink "$ETC" 2>/dev/null || true)" = "$CONF" ] && rm -f "$ETC"
  echo "slurm-local: stopped"
}

status() {
  local rc=0 d
  for d in munge/munged slurmctld slurmd; do
    if alive "$STATE/$d.pid"; then echo "$(basename $d): running (pid $(cat "$STATE/$d.pid"))"
    else echo "$(basename $d): down"; rc=1; fi
  done
  [ $rc = 1 ] || sinfo
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
