#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# ctest kernel_linux (label kernel): `snapsim kernel` on the real Linux kernel under qemu (TCG),
# six boots in sequence (docs/kernel.md):
#   - an exported crash state activates on the kernel exactly as snapsim predicts ("same");
#   - finding 2's case is reproduced (valid_flag_sticky, and the snapshot returns the origin's
#     new data), crash state from the kernel's own dm-log-writes logs;
#   - finding 5's case is reproduced (table_well_formed: a COW chunk used twice), crash state
#     from snapsim;
#   - finding 1's case holds on the kernel (fixed upstream in 2014);
#   - the stock-kernel reproducers of docs/upstream/ say REPRODUCED (`snapsim kernel script`).
# Exits 77 (skipped) without qemu-system-x86_64 or a kernel in the cache ($SNAPSIM_KERNEL_DIR,
# default ~/.cache/snapsim/kernel: `snapsim kernel setup`, which scripts/test-all.sh runs).
#
#   tests/kernel_test.sh SNAPSIM_BINARY SOURCE_DIR
# SNAPSIM_KERNEL_TEST_KEEP=1 keeps the work directory.
set -euo pipefail

skip() { echo "SKIP: $*" && exit 77; }
[ $# -eq 2 ] || { echo "usage: $0 SNAPSIM_BINARY SOURCE_DIR" >&2 && exit 2; }
snapsim=$1 src=$2
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
  skip "qemu-system-x86_64 not found: install qemu-system-x86 (scripts/install-deps.sh does)"
cache=${SNAPSIM_KERNEL_DIR:-$HOME/.cache/snapsim/kernel}
[ -f "$cache/kernel.json" ] ||
  skip "no kernel in $cache: run \`snapsim kernel setup\` (scripts/test-all.sh does)"

work=$(mktemp -d "${TMPDIR:-/tmp}/snapsim-kernel-test.XXXXXX")
if [ "${SNAPSIM_KERNEL_TEST_KEEP:-0}" = 1 ]; then
  echo "keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run NAME EXPECTED_EXIT COMMAND...: runs one command, prints its output and time, checks its exit.
run() {
  local name=$1 expect=$2
  shift 2
  local start=$SECONDS rc=0
  "$@" >"$work/$name.out" 2>&1 || rc=$?
  sed "s/^/  $name| /" "$work/$name.out"
  echo "$name: exit $rc in $((SECONDS - start)) s"
  [ "$rc" -eq "$expect" ] || fail "$name: exit $rc, expected $expect"
}
expect_line() {
  grep -qE "$2" "$work/$1.out" || fail "$1: no line matching '$2'"
}

# 1. An exported crash state (default, seed 7: 80 exceptions over 2 areas of 4-sector chunks).
"$snapsim" export --scenario default --seed 7 --out "$work/export" >/dev/null
run check 0 "$snapsim" kernel check "$work/export"
expect_line check '^same: the kernel reads'
expect_line check 'table accepted, status .[0-9]+/[0-9]+ [0-9]+., [0-9]+ snapshot chunks compared'

# 2. Finding 2: the invalidation is a plain write the COW's cache loses.
run finding2 1 "$snapsim" kernel replay "$src/scenarios/findings/invalidation-lost-in-cow-cache.case.json" \
  --out "$work/finding2"
expect_line finding2 '^reproduced on Linux 6\.[0-9]+.*: valid_flag_sticky: '
expect_line finding2 'snapshot_image: the snapshot.s chunk [0-9]+ sector [0-9]+ holds the origin write of step'
expect_line finding2 'last header write \(valid=0\) is a plain write \(no FLUSH, no FUA\); it is lost'
[ -s "$work/finding2/transcript.txt" ] || fail "finding2: no transcript kept"
[ -s "$work/finding2/crash-cow.img" ] || fail "finding2: no crash image kept"

# 3. Finding 5: stale slots of a torn area write join the table after the remaining steps.
run finding5 1 "$snapsim" kernel replay "$src/scenarios/findings/torn-area-write-leaves-stale-slots.case.json" \
  --out "$work/finding5"
expect_line finding5 '^reproduced on Linux 6\.[0-9]+.*: table_well_formed: the final COW: cow_chunk_used_twice'
expect_line finding5 'crash state: snapsim'

# 4. Finding 1 was fixed upstream: the kernel holds.
run finding1 0 "$snapsim" kernel replay "$src/scenarios/findings/next-free-lands-on-metadata-area.case.json" \
  --out "$work/finding1"
expect_line finding1 '^the kernel holds: Linux 6\.'

# 5. The upstream reports' reproducers, on the same kernel.
run repro2 0 "$snapsim" kernel script "$src/docs/upstream/finding-2-repro.sh" --drives 4M,64K,64K
expect_line repro2 '^REPRODUCED: the snapshot is valid and its chunk 14 reads the origin'
run repro5 0 "$snapsim" kernel script "$src/docs/upstream/finding-5-repro.sh" --drives 4M,1M,1M
expect_line repro5 "^REPRODUCED: snapshot chunk 102 reads origin chunk 202's data"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed (work directory: $work)"
  trap - EXIT
  exit 1
fi
echo "all kernel checks passed"
