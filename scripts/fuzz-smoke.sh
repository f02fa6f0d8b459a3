#!/usr/bin/env bash
# Fuzz smoke: builds every tests/fuzz/fuzz_<name>.c with libFuzzer, ASan and UBSan, runs each
# for a bounded time on a scratch copy of its seed corpus tests/fuzz/corpus/<name>/, and fails if
# any of them finds a crash, leak, timeout or sanitizer report. The fuzzers run FUZZ_JOBS at a time.
# A fuzzer whose row names `lgcore` links the whole project as a static library, built once per
# run with clang and coverage instrumentation in a scratch cmake tree (the router table alone
# references every handler).
# Usage: scripts/fuzz-smoke.sh [fuzz_<name>...]     (default: all)
# Environment: FUZZ_TIME seconds per fuzzer (default 20), FUZZ_JOBS fuzzers at once (default 2),
# CLANG (default clang), FUZZ_BUILD_DIR a cmake tree to keep the lgcore build in across runs
# (default: inside the scratch directory).
# A failing run keeps its scratch directory (logs, crash-* inputs) and prints its path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# The project sources each fuzzer links, besides its own file, or `lgcore` for the whole
# project. A new fuzzer adds its row here.
declare -A sources=(
  [fuzz_sse]="runtime/sse/sse_parser.c runtime/sse/sse_format.c"
  [fuzz_auth]="lgcore"
  [fuzz_router]="lgcore"
  [fuzz_params]="lgcore"
  [fuzz_validators]="lgcore"
  [fuzz_json]="lgcore"
)

time_s="${FUZZ_TIME:-20}"
jobs="${FUZZ_JOBS:-2}"
clang="${CLANG:-clang}"
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -I runtime)

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in tests/fuzz/fuzz_*.c; do
    [ -e "$f" ] || continue
    names+=("$(basename "$f" .c)")
  done
fi
if [ ${#names[@]} -eq 0 ]; then
  echo "fuzz-smoke: no fuzzers in tests/fuzz" >&2
  exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/lgserve-fuzz.XXXXXX")"
keep=0
trap '[ $keep -eq 1 ] || rm -rf "$tmp"' EXIT

# Builds lgcore with clang into $lgcore_dir (once) and sets lgcore_libs to the archive and the
# libraries the server links, read from the lgserve link line cmake generated.
lgcore_dir="${FUZZ_BUILD_DIR:-$tmp/lgcore}"
lgcore_libs=()
build_lgcore() {
  [ ${#lgcore_libs[@]} -eq 0 ] || return 0
  if ! { cmake -S "$root" -B "$lgcore_dir" -DCMAKE_C_COMPILER="$clang" -DCMAKE_BUILD_TYPE=Debug \
           -DCMAKE_C_FLAGS="-O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" &&
         cmake --build "$lgcore_dir" --target lgcore -j"$jobs"; } >"$tmp/lgcore.log" 2>&1; then
    keep=1
    echo "fuzz-smoke: building lgcore with $clang failed; log tail:" >&2
    tail -40 "$tmp/lgcore.log" >&2
    exit 1
  fi
  local w
  for w in $(sed -n 's/.* -o lgserve //p' "$lgcore_dir/CMakeFiles/lgserve.dir/link.txt"); do
    case "$w" in
      -* | /*) lgcore_libs+=("$w") ;;
      *) lgcore_libs+=("$lgcore_dir/$w") ;;
    esac
  done
}

for n in "${names[@]}"; do
  if [ ! -e "tests/fuzz/$n.c" ]; then
    echo "fuzz-smoke: tests/fuzz/$n.c not found" >&2
    exit 1
  fi
  if [ -z "${sources[$n]+x}" ]; then
    echo "fuzz-smoke: $n has no row in the sources table of scripts/fuzz-smoke.sh" >&2
    exit 1
  fi
  if [ "${sources[$n]}" = lgcore ]; then
    build_lgcore
    "$clang" "${flags[@]}" -DH2O_USE_LIBUV=0 -I generated -o "$tmp/$n" "tests/fuzz/$n.c" "${lgcore_libs[@]}"
  else
    # shellcheck disable=SC2086 # the table row is a space-separated list of paths
    "$clang" "${flags[@]}" -o "$tmp/$n" "tests/fuzz/$n.c" ${sources[$n]}
  fi
done

status=0
for ((first = 0; first < ${#names[@]}; first += jobs)); do
  batch=("${names[@]:first:jobs}")
  pids=()
  for n in "${batch[@]}"; do
    seeds="tests/fuzz/corpus/${n#fuzz_}"
    mkdir -p "$tmp/$n.corpus" "$tmp/$n.artifacts"
    [ -d "$seeds" ] || seeds=""
    "$tmp/$n" -max_total_time="$time_s" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$tmp/$n.artifacts/" "$tmp/$n.corpus" ${seeds:+"$seeds"} >"$tmp/$n.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!batch[@]}"; do
    n="${batch[$i]}"
    if wait "${pids[$i]}"; then
      runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$tmp/$n.log" | grep -o '[0-9]*$' || true)"
      echo "fuzz-smoke: $n ok (${runs:-?} runs in ${time_s}s)"
    else
      status=1
      echo "fuzz-smoke: $n FAILED; log tail:" >&2
      tail -40 "$tmp/$n.log" >&2
    fi
  done
done
if [ $status -ne 0 ]; then
  keep=1
  echo "fuzz-smoke: logs and crashing inputs kept in $tmp" >&2
fi
exit $status
