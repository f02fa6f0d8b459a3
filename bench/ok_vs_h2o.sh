#!/usr/bin/env bash
# Benchmark for the foundation issue: wrk on lgserve's GET /ok against the stock h2o server
# (Debian package) serving a small static file, one after the other on the same machine.
# Usage: bench/ok_vs_h2o.sh [duration_s] [connections] [wrk_threads]
# Prints both results and appends a record to bench/results/ok_vs_h2o.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dur="${1:-10}"; conns="${2:-64}"; threads="${3:-2}"
bin="${LGSERVE_BIN:-$root/build/lgserve}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null \
  || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.05; done; echo "server at $1 did not start" >&2; return 1; }
rps() { awk '/Requests\/sec/ {print $2}'; }

p1="$(free_port)"
"$bin" --host 127.0.0.1 --port "$p1" --data-dir "$work/data" --workers 2 >"$work/lgserve.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$p1/ok"
wrk -t"$threads" -c"$conns" -d1s "http://127.0.0.1:$p1/ok" >/dev/null
lg="$(wrk -t"$threads" -c"$conns" -d"${dur}s" "http://127.0.0.1:$p1/ok")"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

p2="$(free_port)"
mkdir -p "$work/www"; printf '{"ok":true}' >"$work/www/ok"
cat >"$work/h2o.conf" <<CONF
num-threads: 2
user: root
access-log: /dev/null
error-log: $work/h2o-error.log
pid-file: $work/h2o.pid
listen:
  host: 127.0.0.1
  port: $p2
hosts:
  default:
    paths:
      "/":
        file.dir: $work/www
CONF
h2o -c "$work/h2o.conf" >"$work/h2o.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$p2/ok"
wrk -t"$threads" -c"$conns" -d1s "http://127.0.0.1:$p2/ok" >/dev/null
st="$(wrk -t"$threads" -c"$conns" -d"${dur}s" "http://127.0.0.1:$p2/ok")"

a="$(echo "$lg" | rps)"; b="$(echo "$st" | rps)"
ratio="$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.1f", 100*a/b}')"
echo "lgserve GET /ok: $a req/s; h2o static file: $b req/s; ratio ${ratio}%"
{
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo
  echo "Command: \`bench/ok_vs_h2o.sh $dur $conns $threads\` (wrk -t$threads -c$conns -d${dur}s; lgserve --workers 2, access log on; h2o num-threads 2, access log off)"
  echo
  echo "| server | requests/s |"
  echo "|---|---|"
  echo "| lgserve GET /ok | $a |"
  echo "| h2o 2.2.5 static file | $b |"
  echo
  echo "lgserve / h2o = **${ratio} %**"
  echo
} >>"$root/bench/results/ok_vs_h2o.md"
