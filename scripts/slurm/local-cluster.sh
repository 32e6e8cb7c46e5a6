#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A private single-node Slurm cluster in one directory, to try scripts/slurm/submit.sh on one
# machine and for tests/slurm_test.sh (docs/slurm.md). Needs root and Debian's slurmctld, slurmd,
# slurm-client and munge packages; not systemd, not mounted cgroups (proctrack/pgid, task/none).
#
#   scripts/slurm/local-cluster.sh start DIR   start munged, slurmctld and slurmd; configuration,
#                                              state, spool, logs, munge key and socket in DIR
#                                              (created; must not hold another cluster)
#   scripts/slurm/local-cluster.sh stop DIR    cancel its jobs, stop its daemons (by pid)
#
# Everything listens on 127.0.0.1 only, on two free ports between 20000 and 32000. Clients find
# the cluster through SLURM_CONF: `export SLURM_CONF=DIR/etc/slurm.conf` (start prints it).
# Exit status: 0 done, 1 a daemon did not come up (see DIR/log), 2 bad arguments.
set -euo pipefail

prog="local-cluster.sh"
die() {
  echo "$prog: $*" >&2
  exit "${2:-2}"
}
if [ $# -ne 2 ] || { [ "$1" != start ] && [ "$1" != stop ]; }; then die "usage: $prog start|stop DIR"; fi
action=$1
PATH="$PATH:/usr/sbin:/sbin"

# The pid in DIR/pids on line NAME, if that process is still the daemon we started.
daemon_pid() {
  local pid
  pid="$(sed -n "s/^$1=//p" "$dir/pids" 2>/dev/null)"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

stop_cluster() {
  local name pid
  [ -f "$dir/pids" ] || return 0
  if [ -n "$(daemon_pid slurmctld)" ]; then
    export SLURM_CONF="$dir/etc/slurm.conf"
    # Jobs first: slurmd's end does not end the job steps it started.
    squeue -h -o %A 2>/dev/null | xargs -r scancel 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -z "$(squeue -h -t running,completing -o %A 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  local pids=()
  for name in slurmd slurmctld munged; do
    pid="$(daemon_pid "$name")" && pids+=("$pid")
  done
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]+"${pids[@]}"}"; do
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$dir/pids"
}

if [ "$action" = stop ]; then
  [ -d "$2" ] || die "no directory $2"
  dir="$(cd "$2" && pwd)"
  stop_cluster
  exit 0
fi

for tool in slurmctld slurmd sbatch squeue scontrol scancel sinfo munged; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool not found: apt-get install slurmctld slurmd slurm-client munge"
done
[ "$(id -u)" -eq 0 ] || die "needs root: slurmd starts each job as its user"
mkdir -p "$2"
dir="$(cd "$2" && pwd)"
[ ! -e "$dir/etc/slurm.conf" ] || die "$dir holds a cluster already (stop it, or use a new DIR)"
[[ "$dir" != *[[:space:]]* ]] || die "DIR must not contain blanks: '$dir'"
# munged refuses a socket below a directory that not all may search (mktemp -d makes such).
d="$dir"
while [ "$d" != / ]; do
  d="$(dirname "$d")"
  [ "$(( $(stat -c '0%a' "$d") & 1 ))" -eq 1 ] ||
    die "munged needs every directory above DIR searchable by all: chmod o+x $d (or another DIR)"
done

# On failure from here on: show why, stop what was started.
on_exit() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 5 "$dir"/log/*.log >&2 || true
    stop_cluster
  fi
}
trap on_exit EXIT

# munged checks permissions: the key private, every directory to the socket searchable by all.
mkdir -p "$dir/etc" "$dir/state" "$dir/spool" "$dir/log" "$dir/munge" "$dir/sock"
chmod 755 "$dir" "$dir/sock"
chmod 700 "$dir/munge"
head -c 1024 /dev/urandom >"$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
munged -F --socket="$dir/sock/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" \
  --log-file="$dir/log/munged.log" </dev/null >>"$dir/log/munged.log" 2>&1 &
echo "munged=$!" >"$dir/pids"
for _ in $(seq 1 50); do
  [ -S "$dir/sock/munge.socket" ] && break
  sleep 0.2
done
[ -S "$dir/sock/munge.socket" ] || die "munged did not come up" 1

# Two free TCP ports below the ephemeral range (32768-): sets port (slurmctld) and port + 1.
pick_ports() {
  local listening=" " f st address
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    while read -r _ address _ st _; do
      if [ "$st" = 0A ]; then listening+="$((16#${address##*:})) "; fi
    done < <(tail -n +2 "$f")
  done
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 12000))
    [[ "$listening" != *" $port "* && "$listening" != *" $((port + 1)) "* ]] && return 0
  done
}

write_conf() {
  cat >"$dir/etc/slurm.conf" <<EOF
# A private single-node cluster: scripts/slurm/local-cluster.sh.
ClusterName=snapsimlocal
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it starts again (default 120 s).
AuthInfo=socket=$dir/sock/munge.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No systemd, no cgroups: processes tracked by process group, tasks not bound.
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
# The main scheduling loop every 2 s (default 60 s): a requeued job starts again soon after its
# cred_expire.
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
KillWait=10
NodeName=localnode NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=localnode Default=YES MaxTime=INFINITE State=UP
EOF
}

# slurmd reads it; proctrack/pgid and task/none load no cgroup plugin, so none need be mounted.
echo "CgroupAutomount=no" >"$dir/etc/cgroup.conf"


# Starts slurmctld and slurmd; 0 once the node is idle, 1 if either ended (a port was taken
# after all), 2 if not idle within 30 s.
start_slurm() {
  local ctld node
  slurmctld -D -i </dev/null >>"$dir/log/slurmctld.stderr" 2>&1 &
  ctld=$!
  slurmd -D -N localnode </dev/null >>"$dir/log/slurmd.stderr" 2>&1 &
  node=$!
  printf 'slurmctld=%s\nslurmd=%s\n' "$ctld" "$node" >>"$dir/pids"
  for _ in $(seq 1 150); do
    [ "$(sinfo -h -n localnode -o %t 2>/dev/null)" = idle ] && return 0
    if ! kill -0 "$ctld" 2>/dev/null || ! kill -0 "$node" 2>/dev/null; then
      kill "$ctld" "$node" 2>/dev/null || true
      wait "$ctld" "$node" 2>/dev/null || true
      sed -i '/^slurm/d' "$dir/pids"
      return 1
    fi
    sleep 0.2
  done
  return 2
}

user="$(id -un)"
export SLURM_CONF="$dir/etc/slurm.conf"
for attempt in 1 2 3; do
  pick_ports
  write_conf
  started=0
  start_slurm || started=$?
  [ "$started" -eq 1 ] || break
  echo "$prog: slurmctld or slurmd ended at once (ports $port, $((port + 1)) taken?), attempt $attempt of 3" >&2
done
[ "$started" -eq 0 ] ||
  die "the node did not come up idle (ports $port, $((port + 1)); see $dir/log)" 1
echo "single-node Slurm up on 127.0.0.1:$port, partition 'local', $(nproc) CPUs; use it with"
echo "  export SLURM_CONF=$SLURM_CONF"
echo "stop it with"
echo "  $0 stop $dir"
