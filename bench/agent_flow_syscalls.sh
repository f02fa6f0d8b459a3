#!/usr/bin/env bash
# Kernel work per agent flow, counted (load-independent, unlike CPU time): lgserve at its
# defaults against bench/mock_llm at 0 ms; after W seconds of warm-up flows (heap growth is
# warm-up: mprotect calls fade within ~30 s), bench/agent_flow runs at concurrency C for S
# seconds twice: first plain, reading every lgserve thread's voluntary and involuntary context
# switches from /proc (the total, and the busiest threads), then under `strace -c -f`
# (syscalls per flow, by name; strace slows the server, the counts per flow stay).
# Usage: [BUILD=dir] bench/agent_flow_syscalls.sh [C] [S] [W] [lgserve options]   (default 1 5 5)
# Not run by the tests. Needs strace.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
conc="${1:-1}" secs="${2:-5}" warm="${3:-5}"
shift $(($# < 3 ? $# : 3))
build="${BUILD:-$root/build}"
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
work="$(mktemp -d)"
mp="" sp="" tp=""
cleanup() {
  for p in $tp $sp $mp; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_mock
port="$(free_port)"
OPENAI_BASE_URL="$mock/v1" "$build/lgserve" --port "$port" --data-dir "$work/data" --log-level warn "$@" \
  >"$work/log" 2>&1 &
sp=$!
wait_ok "$port"

flow() { "$build/bench/agent_flow" --url "http://127.0.0.1:$port" --concurrency "$conc" --duration "$1" --warmup 0; }
flows() { grep -oP 'flows/s: .*\(\K[0-9]+' "$1"; }
switches() {
  for t in /proc/"$sp"/task/*; do
    echo "$(basename "$t") $(awk '/^voluntary_ctxt/{v=$2} /^nonvoluntary_ctxt/{n=$2} END{print v, n}' "$t/status")"
  done | sort
}

flow "$warm" >/dev/null
switches >"$work/a"
flow "$secs" >"$work/plain"
switches >"$work/b"
n="$(flows "$work/plain")"
echo "lgserve, agent flow at concurrency $conc: $(grep -oP 'flows/s: [0-9.]+' "$work/plain") ($n flows)"
join "$work/a" "$work/b" | awk -v f="$n" '{print ($4 - $2) / f, ($5 - $3) / f, $1}' |
  sort -nr | awk 'NR <= 4 {printf "  thread %-8s %6.1f voluntary %6.1f involuntary switches per flow\n", $3, $1, $2}
    {tv += $1; ti += $2} END {printf "  all threads     %6.1f voluntary %6.1f involuntary switches per flow\n", tv, ti}'

strace -c -f -p "$sp" -o "$work/strace" 2>/dev/null &
tp=$!
sleep 0.5
flow "$secs" >"$work/traced"
sleep 0.2
kill -INT "$tp" 2>/dev/null || true
wait "$tp" 2>/dev/null || true
tp=""
n="$(flows "$work/traced")"
echo "syscalls per flow under strace ($n flows):"
awk -v f="$n" '$1 ~ /^[0-9.]+$/ && NF >= 5 {printf "  %-16s %7.1f\n", $NF, $4 / f}' "$work/strace" | sort -k2 -nr | head -16
