#!/usr/bin/env bash
# The agent flow benchmark of the runs issue, as bench/results/agent_flow.md describes it:
# lgserve at its defaults against bench/mock_llm (0 ms delays) on a fresh data directory;
# bench/agent_flow at concurrency 5 and 100 (D seconds each after 3 s of warm-up), the idle RSS
# of a fresh server, and the RSS with 1,000 idle join streams held open.
# Usage: [BUILD=dir] bench/agent_flow.sh [D]
# Prints everything and appends a record to bench/results/agent_flow.md. Not run by the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dur="${1:-20}"
build="${BUILD:-$root/build}"
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
rev="$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)"
work="$(mktemp -d)"
mp="" sp="" hp=""
cleanup() {
  for p in $hp $sp $mp; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {
  port="$(free_port)"
  rm -rf "$work/data"
  OPENAI_BASE_URL="$mock/v1" "$build/lgserve" --port "$port" --data-dir "$work/data" >"$work/lgserve.log" 2>&1 &
  sp=$!
  wait_ok "$port" && return 0
  echo "lgserve did not start" >&2
  return 1
}
stop_server() { kill "$sp"; wait "$sp" 2>/dev/null || true; sp=""; }
rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }

start_mock

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
out="$work/out.txt"
for c in 5 100; do
  start_server
  "$build/bench/agent_flow" --url "http://127.0.0.1:$port" --concurrency "$c" --duration "$dur" --warmup 3 | tee -a "$out"
  echo >>"$out"
  stop_server
done
start_server
sleep 2
idle="$(rss_kb "$sp")"
"$build/bench/agent_flow" --url "http://127.0.0.1:$port" --hold-streams 1000 --duration 15 >/dev/null 2>&1 &
hp=$!
sleep 8
held="$(rss_kb "$sp")"
wait "$hp" || true
hp=""
stop_server
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) — bench/agent_flow.sh $dur, source $rev"
  echo
  echo "Load average before/after: $load_before / $load_after. Idle RSS ${idle} kB; with 1,000 join streams held ${held} kB."
  echo
  echo '```'
  cat "$out"
  echo '```'
} | tee -a "$root/bench/results/agent_flow.md"
