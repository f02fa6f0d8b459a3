#!/usr/bin/env bash
# Write stalls around log compaction: wrk POST /threads (64 connections, 2 threads, unique ids)
# for D seconds against lgserve --workers 2 --fsync batch [extra options, e.g. --compact-size 1G
# for a run without compaction], on a fresh data directory. Prints wrk's latency line (its max
# is the longest wait of any request), p99, requests/s, timeouts, and the data directory's files
# at the end (a snapshot-<n> means n compactions completed). wrk's timeout is raised to 10 s so
# a stall shows as latency rather than as a timeout.
# Usage: [LGSERVE_BIN=path] bench/compaction_stall.sh [duration_s] [lgserve options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dur="${1:-70}"; shift || true
bin="${LGSERVE_BIN:-$root/build/lgserve}"
work="$(mktemp -d)"
pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
"$bin" --host 127.0.0.1 --port "$port" --data-dir "$work/data" --workers 2 --fsync batch "$@" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ok" >/dev/null && break; sleep 0.05; done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t2 -c64 -d"${dur}s" --timeout 10s --latency -s "$root/bench/thread_create.lua" "http://127.0.0.1:$port" |
  grep -E "Latency  |99%|requests in|Requests/sec|timeout"
ls -l "$work/data" | awk '/snapshot|wal/ {print $5, $9}'
