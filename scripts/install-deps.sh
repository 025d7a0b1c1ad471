#!/usr/bin/env bash
# Installs the Debian packages paysync needs to build, run and test.
# Idempotent: prints nothing and exits at once when everything is present.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libcaf-dev
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  liblmdb-dev lmdb-utils
  libsodium-dev libssl-dev libspdlog-dev libjemalloc-dev
  libopencv-dev libopencv-contrib-dev opencv-data
  libgtest-dev libgmock-dev libbenchmark-dev
  chromium  # the link page's browser test: Debian's build, never a downloaded one
)
# Node.js for that test; a machine that already has node keeps its own.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "paysync: installing ${#missing[@]} Debian package(s): ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "paysync: need root or sudo to apt-get install" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
log=$(mktemp -t paysync-apt.XXXXXX)
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo_cmd[@]}" apt-get update -q && \
       "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  echo "paysync: apt-get failed; its output:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
rm -f "$log"
echo "paysync: packages installed"
