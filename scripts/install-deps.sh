#!/usr/bin/env bash
# Installs the Debian 12 packages snapsim builds and tests with. Skips apt when all are present.
# Slurm and munge are for the slurm_cluster test (tests/slurm_test.sh), which starts daemons of
# its own: installing them must not start the system's (no systemd needed, none left running).
# qemu-system-x86, busybox-static and dmsetup are for `snapsim kernel` (docs/kernel.md) and the
# kernel_linux test; the kernel itself is fetched into a cache by `snapsim kernel setup`, never
# installed (scripts/test-all.sh runs it). clang-14 and libclang-rt-14-dev (libFuzzer) build the
# fuzz targets (docs/fuzzing.md). libgoogle-perftools-dev is tcmalloc, which the snapsim command
# and the benchmarks link (SNAPSIM_TCMALLOC).
set -euo pipefail
packages=(cmake g++ ninja-build libgtest-dev libgmock-dev librapidcheck-dev libfiu-dev fiu-utils
  libabsl-dev libbenchmark-dev nlohmann-json3-dev libtomlplusplus-dev libgoogle-perftools-dev zstd chromium
  python3-junitparser jq slurmctld slurmd slurm-client munge
  qemu-system-x86 busybox-static dmsetup clang-14 libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# Package scripts start services through invoke-rc.d, which asks policy-rc.d first: 101 says no.
# A policy-rc.d already there (a container's, an administrator's) is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# snapsim install-deps.sh: start no service while installing\nexit 101\n' |
    "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod 755 "$policy"
  trap '"${sudo_cmd[@]}" rm -f "$policy"' EXIT
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
