#!/usr/bin/env bash
# Instructions per request of POST /threads or PUT /store/items, counted by callgrind (repeatable
# on a loaded machine, unlike requests/s): lgserve --workers 1 --fsync batch runs under
# valgrind --tool=callgrind; after 300 warm-up requests the counters are zeroed, N requests are
# sent over 8 keep-alive connections (unique ids and keys), the counters are dumped and the total
# is divided by N. Usage: [LGSERVE_BIN=path] bench/store_callgrind.sh [threads|items] [N]
# Prints "<kind> <N> requests: <instructions> instructions per request". Not run by the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kind="${1:-threads}"; n="${2:-2000}"
bin="${LGSERVE_BIN:-$root/build/lgserve}"
work="$(mktemp -d)"
vp=""
cleanup() { if [ -n "$vp" ]; then kill "$vp" 2>/dev/null || true; wait "$vp" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

cat >"$work/client.py" <<'PY'
# client.py PORT N KIND: N requests over 8 keep-alive connections, each answer read before the
# connection's next request; exits non-zero unless every answer is 2xx.
import os, selectors, socket, sys
port, n, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
salt = os.getpid() & 0xffff
def request(i):
    if kind == "threads":
        body = '{"thread_id":"%08x-%04x-4000-8000-%012x","metadata":{"bench":true,"n":%d}}' % (1, salt, i, i)
        line = "POST /threads"
    else:
        body = '{"namespace":["bench","n%d"],"key":"k%d-%d","value":{"n":%d,"text":"hello"}}' % (i % 16, salt, i, i)
        line = "PUT /store/items"
    return ("%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (line, len(body), body)).encode()
sel, pending, sent, done, bad = selectors.DefaultSelector(), {}, 0, 0, 0
for _ in range(min(8, n)):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(request(sent)); sent += 1
    pending[s] = b""; sel.register(s, selectors.EVENT_READ)
while done < n:
    for key, _ in sel.select(120):
        s = key.fileobj; data = s.recv(65536)
        if not data: sys.exit("connection closed")
        buf = pending[s] + data
        while (h := buf.find(b"\r\n\r\n")) >= 0:
            head = buf[:h].decode()
            cl = next((int(l.split(":")[1]) for l in head.split("\r\n")[1:] if l.lower().startswith("content-length:")), 0)
            if len(buf) < h + 4 + cl: break
            bad += not head.startswith("HTTP/1.1 2")
            buf = buf[h + 4 + cl:]; done += 1
            if sent < n: s.sendall(request(sent)); sent += 1
        pending[s] = buf
sys.exit(1 if bad else 0)
PY

port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
# lgserve sets this itself by executing itself again, which would leave valgrind: set it here
GLIBC_TUNABLES=glibc.malloc.tcache_count=256 valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$bin" --host 127.0.0.1 --port "$port" \
  --data-dir "$work/data" --workers 1 --fsync batch --run-workers 1 >"$work/log" 2>&1 &
vp=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/ok" >/dev/null && break; sleep 0.2; done
python3 "$work/client.py" "$port" 300 "$kind"
callgrind_control -z "$vp" >/dev/null 2>&1
python3 "$work/client.py" "$port" "$n" "$kind"
callgrind_control -d "$vp" >/dev/null 2>&1
sleep 1
total="$(callgrind_annotate "$work/cg.$vp.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
echo "$kind $n requests: $((total / n)) instructions per request"
