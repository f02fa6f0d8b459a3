#!/usr/bin/env bash
# Benchmark for the resources issue: wrk on POST /threads and PUT /store/items (unique ids and
# keys from bench/thread_create.lua and bench/store_put.lua) against lgserve --workers 2, once
# with --fsync batch and once with --fsync always, each on a fresh data directory.
# Usage: [LGSERVE_BIN=path] [LGSERVE_REV=commit] bench/store_bench.sh [duration_s] [connections] [wrk_threads]
# Prints the results and appends a record to bench/results/store.md. Not run by the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dur="${1:-10}"; conns="${2:-64}"; threads="${3:-2}"
bin="${LGSERVE_BIN:-$root/build/lgserve}"
# the commit the binary was built from (LGSERVE_REV when it is not this checkout's)
rev="${LGSERVE_REV:-$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)}"
work="$(mktemp -d)"
pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.05; done; echo "server at $1 did not start" >&2; return 1; }
field() { awk -v k="$1" '$1 == k {print $2}'; }

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for policy in batch always; do
  port="$(free_port)"
  rm -rf "$work/data"
  "$bin" --host 127.0.0.1 --port "$port" --data-dir "$work/data" --workers 2 --fsync "$policy" >"$work/lgserve-$policy.log" 2>&1 &
  pid=$!
  url="http://127.0.0.1:$port"
  wait_up "$url/ok"
  for target in "POST /threads thread_create.lua" "PUT /store/items store_put.lua"; do
    set -- $target
    method="$1"; path="$2"; script="$3"
    code="$(curl -s -o /dev/null -w '%{http_code}' -X "$method" -H 'content-type: application/json' \
      -d '{"namespace":["probe"],"key":"k","value":{}}' "$url$path")"
    if [ "$code" = 501 ]; then
      rows+=("| $policy | $method $path | not implemented yet | | | | |")
      continue
    fi
    wrk -t"$threads" -c"$conns" -d1s -s "$root/bench/$script" "$url" >/dev/null
    out="$(wrk -t"$threads" -c"$conns" -d"${dur}s" --latency -s "$root/bench/$script" "$url")"
    echo "== fsync $policy, $method $path"; echo "$out"
    rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    avg="$(echo "$out" | awk '$1 == "Latency" {print $2; exit}')"
    p50="$(echo "$out" | field 50%)"; p99="$(echo "$out" | field 99%)"
    errs="$(echo "$out" | awk '/Non-2xx|Socket errors/ {sub(/^ +/, ""); printf "%s; ", $0}')"
    rows+=("| $policy | $method $path | $rps | $avg | $p50 | $p99 | ${errs:-none} |")
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done

{
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo
  echo "Command: \`bench/store_bench.sh $dur $conns $threads\` (wrk -t$threads -c$conns -d${dur}s --latency, on the same"
  echo "machine as the server; \`lgserve --workers 2 --fsync <policy>\`, access log on, fresh data directory per policy;"
  echo "source \`$rev\`; load average before the run: $load_before)"
  echo
  echo "| fsync | request | requests/s | latency avg | p50 | p99 | errors |"
  echo "|---|---|---|---|---|---|---|"
  for r in "${rows[@]}"; do echo "$r"; done
  echo
} | tee -a "$root/bench/results/store.md"
