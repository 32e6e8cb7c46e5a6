#!/usr/bin/env bash
# Installs the Debian 12 packages snapsim builds and tests with. Skips apt when all are present.
set -euo pipefail
packages=(cmake g++ ninja-build libgtest-dev libgmock-dev librapidcheck-dev libfiu-dev fiu-utils
  libabsl-dev libbenchmark-dev nlohmann-json3-dev libtomlplusplus-dev zstd chromium
  python3-junitparser)
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
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
