#!/usr/bin/env bash
# CPU time per agent flow of each process on the machine's cores: lgserve at its defaults
# (plus any lgserve options given) against bench/mock_llm at 0 ms on a fresh data directory
# (DATADIR=dir to put it elsewhere, e.g. on tmpfs to take the disk's sync latency out),
# bench/agent_flow at concurrency C for S seconds after 2 s of warm-up; user and system
# milliseconds per flow of lgserve, the mock and the driver, read from /proc/<pid>/stat, and
# the share of the 2 cores they kept busy. Shows whether a run is CPU-bound or waits.
# Usage: [BUILD=dir] [DATADIR=dir] bench/agent_flow_cpu.sh [C] [S] [lgserve options]  (default 5 10)
# Prints the driver's table and one summary line. Not run by the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
conc="${1:-5}" secs="${2:-10}"
shift $(($# < 2 ? $# : 2))
build="${BUILD:-$root/build}"
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
work="$(mktemp -d)"
data="${DATADIR:-$work/data}"
mp="" sp="" ap=""
cleanup() {
  for p in $ap $sp $mp; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
  [ -z "${DATADIR:-}" ] || rm -rf "$DATADIR"
}
trap cleanup EXIT

start_mock
port="$(free_port)"
OPENAI_BASE_URL="$mock/v1" "$build/lgserve" --port "$port" --data-dir "$data" "$@" >"$work/log" 2>&1 &
sp=$!
wait_ok "$port"
"$build/bench/agent_flow" --url "http://127.0.0.1:$port" --concurrency "$conc" --duration 2 --warmup 0 >/dev/null

ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
read -r su0 ss0 < <(ticks "$sp")
read -r mu0 ms0 < <(ticks "$mp")
"$build/bench/agent_flow" --url "http://127.0.0.1:$port" --concurrency "$conc" --duration "$secs" --warmup 0 \
  >"$work/out" &
ap=$!
# read the driver's own times just before it ends (its /proc entry goes with it)
sleep "$(python3 -c "print(max($secs - 0.3, 0.1))")"
read -r au as < <(ticks "$ap")
read -r su1 ss1 < <(ticks "$sp")
read -r mu1 ms1 < <(ticks "$mp")
wait "$ap"
ap=""
cat "$work/out"
flows="$(grep -oP 'flows/s: .*\(\K[0-9]+' "$work/out")"
awk -v f="$flows" -v hz="$(getconf CLK_TCK)" -v secs="$secs" \
  -v su=$((su1 - su0)) -v ss=$((ss1 - ss0)) -v mu=$((mu1 - mu0)) -v ms=$((ms1 - ms0)) -v au="$au" -v as="$as" \
  'BEGIN { k = 1000 / hz / f; t = (su + ss + mu + ms + au + as) / hz;
           printf "CPU ms per flow: lgserve %.2f user + %.2f sys | mock %.2f + %.2f | driver %.2f + %.2f; %.0f %% of 2 cores busy\n",
                  su * k, ss * k, mu * k, ms * k, au * k, as * k, 100 * t / secs / 2 }'
