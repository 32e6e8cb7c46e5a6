#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the snapsim binary with clang++ (Debian's clang, same Debian libraries) in build-clang/
# and checks that it gives the pinned trace hashes (tests/pinned_trace_hashes.txt): the same seed
# must give the same trace whichever compiler built it. docs/determinism.md.
# Usage: scripts/check-clang-hashes.sh [BUILD_DIR]   (default build-clang; a new build directory
# uses ccache if present, an existing one keeps its configuration)
# Exit: 0 identical hashes, 1 some differ, 2 the build failed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-clang}
launcher=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ccache > /dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
start=$(date +%s)
if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DSNAPSIM_WERROR=ON -DSNAPSIM_BUILD_BENCH=OFF "${launcher[@]}" > /dev/null ||
   ! cmake --build "$build" --target snapsim -j"${SNAPSIM_JOBS:-2}"; then
  echo "check-clang-hashes: the clang build failed" >&2
  exit 2
fi
echo "check-clang-hashes: clang build took $(( $(date +%s) - start )) s"
"$build/cli/snapsim" --version | head -1
"$build/cli/snapsim" hashes --scenario-dir scenarios --check tests/pinned_trace_hashes.txt
