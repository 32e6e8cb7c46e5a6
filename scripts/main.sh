#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The main job (README.md): installs the Debian packages, builds snapsim (Release, Ninja, in
# build-rel/), runs a short crash campaign on the default scenarios (every scenarios/*.toml but
# the explorer's) into snapsim-report/, and prints the path of its index.html.
#
# Reruns: the campaign has an open seed range (1..) and a time budget, so running this again
# resumes the same campaign and adds a budget's worth of new seeds to snapsim-report/. If the
# directory holds a different campaign (the scenario files changed), it is moved aside to
# snapsim-report.prev-<time> and a new campaign starts.
#
# Settings (environment): SNAPSIM_MAIN_BUDGET [45s], SNAPSIM_MAIN_JOBS [nproc],
# SNAPSIM_MAIN_OUT [snapsim-report], SNAPSIM_MAIN_BUILD [build-rel], SNAPSIM_MAIN_MINIMIZE_RUNS
# [200: runs per cause's minimized case; the campaign's own default is 400].
# Exit status: 0 done (findings or not: they are the report's subject), 130 interrupted,
# anything else a failure to set up, build or run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

budget="${SNAPSIM_MAIN_BUDGET:-45s}"
jobs="${SNAPSIM_MAIN_JOBS:-$(nproc)}"
out="${SNAPSIM_MAIN_OUT:-snapsim-report}"
build="${SNAPSIM_MAIN_BUILD:-build-rel}"
minimize_runs="${SNAPSIM_MAIN_MINIMIZE_RUNS:-200}"

scripts/install-deps.sh
echo "main: building snapsim (Release) in $build/"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target snapsim -j "$(nproc)"
snapsim="$build/cli/snapsim"

run_campaign() {
  "$snapsim" campaign --seeds 1.. --budget "$budget" --jobs "$jobs" --out "$out" \
    --minimize-runs "$minimize_runs"
}

echo "main: crash campaign on the default scenarios, budget $budget, $jobs workers -> $out/"
status=0
run_campaign || status=$?
if [ "$status" -eq 2 ] && [ -f "$out/campaign.json" ]; then
  # Most likely another campaign's directory (the scenario set changed): keep it, start afresh.
  aside="$out.prev-$(date -u +%Y%m%dT%H%M%SZ)"
  echo "main: $out/ holds another campaign; moving it to $aside/ and starting a new one" >&2
  mv "$out" "$aside"
  status=0
  run_campaign || status=$?
fi
case "$status" in
  0 | 1) ;;  # 1: the campaign found something; the report says what
  130)
    echo "main: interrupted; rerun scripts/main.sh to resume" >&2
    exit 130
    ;;
  *)
    echo "main: the campaign failed (exit $status)" >&2
    exit "$status"
    ;;
esac
echo
case "$out" in
  /*) report="$out/index.html" ;;
  *) report="$(pwd)/$out/index.html" ;;
esac
echo "main: report: $report"
