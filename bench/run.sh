#!/usr/bin/env bash
# Runs the recorded benchmarks (`make bench`); each script appends to bench/results/.
set -euo pipefail
cd "$(dirname "$0")"
./ok_vs_h2o.sh "$@"
