# Sourced by scripts/test: starts a moto server (the AWS API emulator the
# aws provider's tests run against) on a free loopback port, exports its URL
# as STACKC_TEST_MOTO_ENDPOINT, and stops it when the calling script exits,
# whether the tests passed or not; its log is removed then (it is shown
# when moto does not start).
#
# Usage: moto_start VENV
moto_start() {
  local venv="$1"
  if [ ! -x "$venv/bin/moto_server" ]; then
    echo "scripts/moto.sh: $venv/bin/moto_server not found (is moto[server] in scripts/requirements-test.txt?)" >&2
    return 1
  fi
  local port
  port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  MOTO_LOG="${TMPDIR:-/tmp}/stackc-moto-$port.log"
  # AWS managed policies (AmazonECSTaskExecutionRolePolicy) must exist.
  MOTO_IAM_LOAD_MANAGED_POLICIES=true "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  trap 'moto_stop' EXIT
  local i
  for i in $(seq 1 100); do
    if "$venv/bin/python" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
      export STACKC_TEST_MOTO_ENDPOINT="http://127.0.0.1:$port"
      echo "scripts/moto.sh: moto on $STACKC_TEST_MOTO_ENDPOINT (log $MOTO_LOG)" >&2
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      break
    fi
    sleep 0.2
  done
  echo "scripts/moto.sh: moto did not start; its log:" >&2
  cat "$MOTO_LOG" >&2 || true
  return 1
}

moto_stop() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=
  fi
  if [ -n "${MOTO_LOG:-}" ]; then
    rm -f "$MOTO_LOG"
    MOTO_LOG=
  fi
}
