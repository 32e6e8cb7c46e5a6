#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Nightly snapsim campaign (docs/nightly.md). Seeds start at YYYYMMDD * 1000000, so every night
# explores new seeds and any finding replays from its seed alone. The campaign runs for a time
# budget into <history>/<YYYYMMDD>/, then tonight's summary.json is compared with the previous
# night's: new findings, gone findings, rate change, written to compare.md and printed.
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

if ! [[ "$date" =~ ^[0-9]{8}$ ]]; then
  echo "nightly: SNAPSIM_DATE must be YYYYMMDD, not '$date'" >&2
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

echo "nightly: $date seeds $seed_first..$seed_last budget $budget jobs $jobs -> $out"
status=0
"$snapsim" campaign "${scenario_args[@]}" --seeds "$seed_first..$seed_last" --budget "$budget" \
  --jobs "$jobs" --out "$out" || status=$?
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
