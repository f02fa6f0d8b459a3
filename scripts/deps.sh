#!/usr/bin/env bash
# Checks that the Debian packages lgserve needs to build, test and run are installed.
# As root it installs the missing ones; otherwise it prints the exact apt-get line and fails.
# Usage: scripts/deps.sh [build|test|bench]
set -euo pipefail
what="${1:-build}"
pkgs=(build-essential cmake pkg-config ragel lua5.4 lua-yaml libh2o-evloop-dev libh2o-dev libssl-dev
      libjansson-dev libcurl4-openssl-dev libjwt-dev libpq-dev zlib1g-dev)
if [ "$what" = test ] || [ "$what" = bench ]; then
  pkgs+=(libcmocka-dev postgresql clang libclang-rt-14-dev curl)
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi
if [ "$what" = bench ]; then
  pkgs+=(wrk h2o)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "deps: missing packages; run:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
