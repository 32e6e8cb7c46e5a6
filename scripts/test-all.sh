#!/usr/bin/env bash
# Sets up everything and runs every test: installs the Debian packages, builds with warnings as
# errors under AddressSanitizer and UndefinedBehaviorSanitizer, and runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${SNAPSIM_TEST_BUILD_DIR:-build-test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSNAPSIM_WERROR=ON \
  -DSNAPSIM_SANITIZE=ON -DSNAPSIM_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" -j "$(nproc)" --output-on-failure --timeout 600
