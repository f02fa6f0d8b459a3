#!/usr/bin/env bash
# Instructions per agent flow, counted by callgrind (repeatable on a loaded machine, unlike
# flows/s): lgserve --workers 1 --run-workers 2 runs under valgrind --tool=callgrind against
# bench/mock_llm (one thread, 0 ms delays); after 3 s of warm-up flows the counters are zeroed,
# bench/agent_flow runs at concurrency 2 for S seconds, the counters are dumped, and the total is
# divided by the flows done (the mock's chat requests / 3: each flow makes 3 LLM calls).
# Usage: [BUILD=dir] bench/agent_flow_callgrind.sh [S]
# Prints "<flows> flows: <instructions> instructions per flow". Not run by the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-40}"
build="${BUILD:-$root/build}"
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
work="$(mktemp -d)"
mp="" vp=""
cleanup() {
  for p in $vp $mp; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_mock --threads 1
port="$(free_port)"
# lgserve sets this itself by executing itself again, which would leave valgrind: set it here
OPENAI_BASE_URL="$mock/v1" GLIBC_TUNABLES=glibc.malloc.tcache_count=256 valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" \
  "$build/lgserve" --port "$port" --data-dir "$work/data" --workers 1 --run-workers 2 \
  --log-level warn >"$work/log" 2>&1 &
vp=$!
wait_ok "$port" 600
requests() { curl -sf "$mock/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

"$build/bench/agent_flow" --url "http://127.0.0.1:$port" --concurrency 1 --duration 3 --warmup 0 >/dev/null
callgrind_control -z "$vp" >/dev/null 2>&1
before="$(requests)"
"$build/bench/agent_flow" --url "http://127.0.0.1:$port" --concurrency 2 --duration "$secs" --warmup 0 \
  >"$work/flow.out"
after="$(requests)"
callgrind_control -d "$vp" >/dev/null 2>&1
sleep 1
grep -q ' 0 failed' "$work/flow.out" || { cat "$work/flow.out" >&2; exit 1; }
total="$(callgrind_annotate "$work/cg.$vp.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
flows=$(((after - before) / 3))
echo "$flows flows: $((total / flows)) instructions per flow"
