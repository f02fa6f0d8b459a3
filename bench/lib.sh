# bench/lib.sh — what the agent-flow benchmark scripts share, sourced by them (not run alone):
# a free loopback port, starting bench/mock_llm, and waiting for a server to answer /ok.
# Expects $build (the build directory) and $work (a scratch directory the caller removes).

# Prints a TCP port free on 127.0.0.1 at this moment.
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# Starts bench/mock_llm on a free port with any extra arguments given; sets mp (its PID, for the
# caller to stop) and mock (its base URL).
start_mock() {
  "$build/bench/mock_llm" --port 0 --port-file "$work/mock.port" "$@" >/dev/null 2>&1 &
  mp=$!
  for _ in $(seq 50); do [ -s "$work/mock.port" ] && break; sleep 0.1; done
  mock="http://127.0.0.1:$(cat "$work/mock.port")"
}

# Waits until http://127.0.0.1:$1/ok answers, for at most $2 tenths of a second (default 100).
# Returns 1 when it never did.
wait_ok() {
  for _ in $(seq "${2:-100}"); do curl -sf "http://127.0.0.1:$1/ok" >/dev/null && return 0; sleep 0.1; done
  return 1
}
