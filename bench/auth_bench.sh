#!/usr/bin/env bash
# Benchmark for the auth issue: the cost of jwt mode (HS256) on GET /threads/{thread_id}, the
# same request against the same binary without auth and with SUPABASE_JWT_SECRET set (a valid
# token minted here with openssl). Two measures:
#   wrk        requests/s, the two servers alternated for `rounds` rounds (--workers 2); the
#              median of each gives the extra time per request (target: at most 10 %); also
#              the server's CPU time (user + system, /proc/<pid>/stat) per request served,
#              which other load on the machine disturbs less than requests/s;
#   callgrind  instructions per request under valgrind (--workers 1): the difference between
#              runs of N and 3N keep-alive requests from one curl divided by 2N, so start-up
#              and warm-up cancel out. Repeatable on a loaded machine, unlike wrk.
# Usage: [LGSERVE_BIN=path] [LGSERVE_REV=commit] bench/auth_bench.sh [wrk|callgrind|both]
#        [duration_s=10] [connections=64] [wrk_threads=2] [rounds=3] [callgrind_n=1000]
# Prints the results and appends a record to bench/results/auth.md. Not run by the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:-both}"; dur="${2:-10}"; conns="${3:-64}"; threads="${4:-2}"; rounds="${5:-3}"; cg_n="${6:-1000}"
bin="${LGSERVE_BIN:-$root/build/lgserve}"
rev="${LGSERVE_REV:-$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)}"
secret="bench-secret-with-at-least-32-characters!"
work="$(mktemp -d)"
pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 600); do curl -sf "$1" >/dev/null && return 0; sleep 0.05; done; echo "server at $1 did not start" >&2; return 1; }
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# cpu_ticks PID: user + system clock ticks the process used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# An HS256 token for user bench-user, valid for a day (as Supabase issues them: sub, email, aud, role).
now="$(date +%s)"
h="$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)"
p="$(printf '{"sub":"bench-user","email":"bench@example.com","aud":"authenticated","role":"authenticated","iat":%d,"exp":%d}' "$now" "$((now + 86400))" | b64url)"
s="$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)"
token="$h.$p.$s"

# start MODE PREFIX...: starts the server (auth when MODE is jwt) under PREFIX (e.g. valgrind),
# creates a thread, sets url, path and hdr (the curl/wrk header arguments).
start() {
  local mode="$1"; shift
  local port; port="$(free_port)"
  rm -rf "$work/data"
  if [ "$mode" = jwt ]; then
    SUPABASE_JWT_SECRET="$secret" "$@" "$bin" --host 127.0.0.1 --port "$port" --data-dir "$work/data" --workers "$workers" >"$work/lgserve-$mode.log" 2>&1 &
    hdr=(-H "Authorization: Bearer $token")
  else
    "$@" "$bin" --host 127.0.0.1 --port "$port" --data-dir "$work/data" --workers "$workers" >"$work/lgserve-$mode.log" 2>&1 &
    hdr=()
  fi
  pid=$!
  url="http://127.0.0.1:$port"
  wait_up "$url/ok"
  local tid
  tid="$(curl -sf "${hdr[@]}" -X POST -H 'content-type: application/json' -d '{"metadata":{"bench":true}}' "$url/threads" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["thread_id"])')"
  path="/threads/$tid"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${hdr[@]}" "$url$path")" = 200 ] || { echo "GET $path failed ($mode)" >&2; exit 1; }
  if [ "$mode" = jwt ]; then
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url$path")" = 401 ] || { echo "auth is not on" >&2; exit 1; }
  fi
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
record=()

if [ "$what" = wrk ] || [ "$what" = both ]; then
  workers=2
  declare -A rps=([none]="" [jwt]="") cpu=([none]="" [jwt]="")
  hz="$(getconf CLK_TCK)"
  for ((r = 1; r <= rounds; r++)); do
    for mode in none jwt; do
      start "$mode"
      wrk -t"$threads" -c"$conns" -d1s "${hdr[@]}" "$url$path" >/dev/null
      t0="$(cpu_ticks "$pid")"
      out="$(wrk -t"$threads" -c"$conns" -d"${dur}s" "${hdr[@]}" "$url$path")"
      t1="$(cpu_ticks "$pid")"
      stop
      if echo "$out" | grep -q 'Non-2xx'; then echo "wrk saw errors ($mode):" >&2; echo "$out" >&2; exit 1; fi
      v="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
      n="$(echo "$out" | awk '/requests in/ {print $1}')"
      us="$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$n" 'BEGIN {printf "%.2f", 1e6 * t / hz / n}')"
      rps[$mode]="${rps[$mode]} $v"
      cpu[$mode]="${cpu[$mode]} $us"
      echo "round $r $mode: $v req/s, $us µs of server CPU per request"
    done
  done
  m_none="$(echo ${rps[none]} | tr ' ' '\n' | median)"
  m_jwt="$(echo ${rps[jwt]} | tr ' ' '\n' | median)"
  extra="$(awk -v a="$m_none" -v b="$m_jwt" 'BEGIN {printf "%.1f", 100 * (a / b - 1)}')"
  c_none="$(echo ${cpu[none]} | tr ' ' '\n' | median)"
  c_jwt="$(echo ${cpu[jwt]} | tr ' ' '\n' | median)"
  extra_cpu="$(awk -v a="$c_none" -v b="$c_jwt" 'BEGIN {printf "%.1f", 100 * (b / a - 1)}')"
  echo "wrk medians: no auth $m_none req/s, jwt HS256 $m_jwt req/s; extra time per request ${extra}%"
  echo "server CPU per request, medians: no auth $c_none µs, jwt HS256 $c_jwt µs; extra ${extra_cpu}%"
  record+=("Command: \`bench/auth_bench.sh wrk $dur $conns $threads $rounds\` (wrk -t$threads -c$conns -d${dur}s after 1 s of warm-up; lgserve --workers 2; modes alternated, $rounds rounds)"
           ""
           "| mode | requests/s per round | median | server CPU µs per request, per round | median |"
           "|---|---|---|---|---|"
           "| none | $(echo ${rps[none]} | sed 's/ / · /g') | $m_none | $(echo ${cpu[none]} | sed 's/ / · /g') | $c_none |"
           "| jwt HS256 | $(echo ${rps[jwt]} | sed 's/ / · /g') | $m_jwt | $(echo ${cpu[jwt]} | sed 's/ / · /g') | $c_jwt |"
           ""
           "Extra time per request with auth: **${extra} %** from requests/s, **${extra_cpu} %** from server CPU time (target ≤ 10 %)."
           "")
fi

if [ "$what" = callgrind ] || [ "$what" = both ]; then
  workers=1
  declare -A ir=()
  for mode in none jwt; do
    for n in "$cg_n" "$((3 * cg_n))"; do
      start "$mode" env GLIBC_TUNABLES=glibc.malloc.tcache_count=256 valgrind --tool=callgrind --callgrind-out-file="$work/cg.$mode.$n" --dump-instr=no
      : >"$work/curl.cfg"
      for ((i = 0; i < n; i++)); do printf 'url = "%s"\noutput = /dev/null\n' "$url$path" >>"$work/curl.cfg"; done
      curl -s "${hdr[@]}" -K "$work/curl.cfg"
      stop
      ir[$mode.$n]="$(awk '/^summary:/ {print $2}' "$work/cg.$mode.$n")"
    done
  done
  per_none=$(( (ir[none.$((3 * cg_n))] - ir[none.$cg_n]) / (2 * cg_n) ))
  per_jwt=$(( (ir[jwt.$((3 * cg_n))] - ir[jwt.$cg_n]) / (2 * cg_n) ))
  extra_ir="$(awk -v a="$per_none" -v b="$per_jwt" 'BEGIN {printf "%.1f", 100 * (b / a - 1)}')"
  echo "callgrind: no auth $per_none instructions/request, jwt HS256 $per_jwt; extra ${extra_ir}%"
  record+=("Command: \`bench/auth_bench.sh callgrind 0 0 0 0 $cg_n\` (valgrind --tool=callgrind, lgserve --workers 1; one keep-alive curl sending $cg_n and then $((3 * cg_n)) requests; per request = difference / $((2 * cg_n)))"
           ""
           "| mode | instructions per request (whole server) |"
           "|---|---|"
           "| none | $per_none |"
           "| jwt HS256 | $per_jwt |"
           ""
           "Extra instructions per request with auth: **${extra_ir} %**."
           "")
fi

{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), source $rev"
  echo
  echo "Load average before: $load_before (1/5/15 min)."
  echo
  printf '%s\n' "${record[@]}"
} >>"$root/bench/results/auth.md"
