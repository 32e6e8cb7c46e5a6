#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Nightly snapsim campaign (docs/nightly.md). Seeds start at YYYYMMDD * 1000000, so every night
# explores new seeds and any finding replays from its seed alone. The campaign runs for a time
# budget into <history>/<YYYYMMDD>/, then tonight's summary.json is compared with the previous
# night's (snapsim report compare): new causes, gone causes, runs per cause, then the finding
# kinds as detail, probes and rate change, written to compare.md and printed. A previous night
# written before causes existed (schema 1) is compared by finding kind, with a note.
#
# Rerunning on the same day resumes the campaign (the runner skips finished jobs).
#
# Settings (environment):
#   SNAPSIM            the snapsim binary (default: snapsim on PATH, else build/cli/snapsim)
#   SNAPSIM_HISTORY    history directory (default: /var/lib/snapsim/nightly)
#   SNAPSIM_SCENARIOS  space-separated scenario names (default: "default")
#   SNAPSIM_BUDGET     time budget, e.g. 6h, 45m, 90s (default: 6h)
#   SNAPSIM_JOBS       worker processes (default: nproc)
#   SNAPSIM_DATE       YYYYMMDD to run as (default: today, UTC)
#   SNAPSIM_SLURM_TASKS  N > 0: run the campaign as a Slurm job array of N shards plus a merge
#                      (scripts/slurm/submit.sh, docs/slurm.md), wait for them, then compare;
#                      SNAPSIM_JOBS is then unused: SNAPSIM_SLURM_CPUS sets CPUs per task
#   SNAPSIM_SLURM_POLL seconds between looks at the Slurm jobs (default: 30)
# Exit status: 0 done, 130 interrupted (the summary of what was done is still written and
# compared), anything else an error.
set -euo pipefail

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
snapsim="${SNAPSIM:-}"
if [ -z "$snapsim" ]; then
  if command -v snapsim >/dev/null 2>&1; then
    snapsim="$(command -v snapsim)"
  else
    snapsim="$repo_dir/build/cli/snapsim"
  fi
fi
history="${SNAPSIM_HISTORY:-/var/lib/snapsim/nightly}"
read -r -a scenarios <<<"${SNAPSIM_SCENARIOS:-default}"
budget="${SNAPSIM_BUDGET:-6h}"
jobs="${SNAPSIM_JOBS:-$(nproc)}"
date="${SNAPSIM_DATE:-$(date -u +%Y%m%d)}"
slurm_tasks="${SNAPSIM_SLURM_TASKS:-0}"
slurm_poll="${SNAPSIM_SLURM_POLL:-30}"

if ! [[ "$date" =~ ^[0-9]{8}$ ]]; then
  echo "nightly: SNAPSIM_DATE must be YYYYMMDD, not '$date'" >&2
  exit 2
fi
if ! [[ "$slurm_tasks" =~ ^[0-9]+$ ]] || ! [[ "$slurm_poll" =~ ^[1-9][0-9]*$ ]]; then
  echo "nightly: SNAPSIM_SLURM_TASKS and SNAPSIM_SLURM_POLL must be whole numbers" >&2
  exit 2
fi
if [ ! -x "$snapsim" ]; then
  echo "nightly: no snapsim binary at '$snapsim' (set SNAPSIM)" >&2
  exit 2
fi

# A night owns one million seeds; the budget decides how many of them run.
seeds_per_night=1000000
seed_first=$((10#$date * seeds_per_night))
seed_last=$((seed_first + seeds_per_night - 1))
out="$history/$date"
mkdir -p "$history"

# One nightly run at a time per history directory.
exec 9>"$history/.lock"
if ! flock -n 9; then
  echo "nightly: another run holds $history/.lock" >&2
  exit 1
fi

scenario_args=()
for s in "${scenarios[@]}"; do scenario_args+=(--scenario "$s"); done

# Slurm: gone means squeue answered and no longer lists the job (not: squeue failed).
slurm_jobs_gone() {
  local listed
  if listed="$(squeue -h -j "$1" -o %i 2>&1)"; then
    [ -z "$listed" ]
  else
    [[ "$listed" == *"Invalid job id"* ]]
  fi
}

# Tonight's seeds over SNAPSIM_SLURM_TASKS tasks: shards in $out/shard-I, the merge in
# $out/merged, whose report files $out/summary.json etc. link to. Sets status like a campaign:
# 0 or 130; exits on failure.
run_on_slurm() {
  local submit="$repo_dir/scripts/slurm/submit.sh" ids array merge check
  SNAPSIM="$snapsim" "$submit" "$out" "$slurm_tasks" "${scenario_args[@]}" \
    --seeds "$seed_first..$seed_last" --budget "$budget" || {
    echo "nightly: submitting to Slurm failed" >&2
    exit 1
  }
  array="$(sed -n 's/^array=//p' "$out/slurm/jobs")"
  merge="$(sed -n 's/^merge=//p' "$out/slurm/jobs")"
  check="$(sed -n 's/^check=//p' "$out/slurm/jobs")"
  ids="$array,$merge,$check"
  # Stopped while waiting: cancel the jobs (each task keeps what it did), merge what is there.
  trap 'status=130' INT TERM
  while [ "$status" -eq 0 ] && [ ! -f "$out/slurm/merge.status" ] && [ ! -f "$out/slurm/FAILED" ]; do
    if slurm_jobs_gone "$ids"; then
      [ -f "$out/slurm/merge.status" ] || [ -f "$out/slurm/FAILED" ] || {
        echo "nightly: Slurm jobs $ids ended without a merge or a failure report (cancelled?)" >&2
        exit 1
      }
      break
    fi
    sleep "$slurm_poll" &
    wait $! || true
  done
  trap - INT TERM
  if [ "$status" -eq 130 ]; then
    echo "nightly: interrupted: cancelling Slurm jobs $ids, merging the shards' finished jobs" >&2
    scancel "$array" "$merge" "$check" 2>/dev/null || true
    for _ in $(seq 1 60); do
      slurm_jobs_gone "$array" && break
      sleep 2
    done
    local dirs=()
    for ((i = 0; i < slurm_tasks; i++)); do
      [ -f "$out/shard-$i/results.jsonl" ] && dirs+=("$out/shard-$i")
    done
    if [ ${#dirs[@]} -gt 0 ]; then
      "$snapsim" report merge "$out/merged" "${dirs[@]}" >/dev/null || true
    fi
  elif [ -f "$out/slurm/FAILED" ]; then
    echo "nightly: Slurm tasks failed; rerun this script today to resume them:" >&2
    cat "$out/slurm/FAILED" >&2
    exit 1
  else
    local merged
    merged="$(cat "$out/slurm/merge.status")"
    if [ "$merged" != 0 ] && [ "$merged" != 1 ]; then
      echo "nightly: the merge failed with status $merged, see $out/slurm/merge.out" >&2
      exit 1
    fi
  fi
  for f in summary.json summary.md index.html junit.xml; do
    [ -f "$out/merged/$f" ] && ln -sfn "merged/$f" "$out/$f"
  done
  return 0
}

status=0
if [ "$slurm_tasks" -gt 0 ]; then
  echo "nightly: $date seeds $seed_first..$seed_last budget $budget over $slurm_tasks Slurm tasks -> $out"
  run_on_slurm
else
  echo "nightly: $date seeds $seed_first..$seed_last budget $budget jobs $jobs -> $out"
  "$snapsim" campaign "${scenario_args[@]}" --seeds "$seed_first..$seed_last" --budget "$budget" \
    --jobs "$jobs" --out "$out" || status=$?
fi
if [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then
  echo "nightly: campaign failed with status $status" >&2
  exit "$status"
fi
if [ ! -f "$out/summary.json" ]; then
  echo "nightly: campaign wrote no $out/summary.json" >&2
  exit 1
fi

# The previous night: the latest earlier date directory with a summary.
previous=""
for dir in "$history"/[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]; do
  [ -d "$dir" ] || continue
  name="$(basename "$dir")"
  if [[ "$name" < "$date" ]] && [ -f "$dir/summary.json" ]; then previous="$dir"; fi
done

if [ -n "$previous" ]; then
  "$snapsim" report compare "$previous/summary.json" "$out/summary.json" >"$out/compare.md.tmp"
  mv "$out/compare.md.tmp" "$out/compare.md"
else
  printf '# snapsim campaign comparison\n\nNo previous night in %s to compare with.\n' \
    "$history" >"$out/compare.md"
fi
ln -sfn "$date" "$history/latest"
cat "$out/compare.md"
exit "$status"
