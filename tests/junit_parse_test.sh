#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# A short campaign's junit.xml parses with junitparser (tests/junit_check.py).
# Usage: junit_parse_test.sh SNAPSIM PYTHON SOURCE_DIR
set -eu
snapsim=$1
python=$2
src=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
"$snapsim" campaign --scenario area-boundary-reload,default --seeds 1..3 --jobs 1 \
  --no-minimize --out "$out/c" >"$out/log" 2>&1 || status=$?
if [ "$status" -gt 1 ]; then
  cat "$out/log"
  exit 1
fi
"$python" "$src/tests/junit_check.py" "$out/c/junit.xml" area-boundary-reload default
