#!/usr/bin/env bash
# Time from an object's loss to its restoration by `stackc reconcile
# --watch` with the default interval, on the local target (Docker Engine,
# test images from scripts/docker.sh), split into the wait for the next
# pass and the pass itself.
#
#   scripts/reconcile-latency.sh [ROUNDS]     (default 3; about 40 s each)
#
# Each round removes one replica of a two-replica service right after a
# pass ended (the worst case: a whole interval to wait) and reads the JSON
# events: the restoring pass's start (its `found` event) and its duration.
# Uses target/debug/stackc (build it first: cargo build -p stackc), or
# $STACKC.
set -euo pipefail
cd "$(dirname "$0")/.."
STACKC="${STACKC:-$PWD/target/debug/stackc}"
ROUNDS="${1:-3}"
work="$(mktemp -d)"
name="rclatency$$"
dir="$work/$name"
mkdir -p "$dir"
export STACKC_SECRETS_DIR="$work/secrets"
cleanup() {
  [ -n "${loop:-}" ] && kill -TERM "$loop" 2>/dev/null && wait "$loop" 2>/dev/null || true
  "$STACKC" destroy "$dir" --target local --auto-approve >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cat > "$dir/main.stack.hcl" <<'EOF'
service "web" {
  image    = "stackc-test-app:1"
  replicas = 2
  port     = 8080
  health { path = "/healthz" }
}

target "local" {}
EOF
"$STACKC" apply "$dir" --target local --auto-approve >/dev/null
events="$work/events"
"$STACKC" reconcile "$dir" --target local --watch --json >"$events" 2>"$work/stderr" &
loop=$!
now_ms() { date +%s%3N; }
passes() { grep -c '"event":"pass"' "$events" || true; }
for round in $(seq 1 "$ROUNDS"); do
  before=$(passes)
  while [ "$(passes)" -le "$before" ]; do sleep 0.1; done   # a pass just ended
  lost=$(now_ms)
  docker rm -f "$name-web-0" >/dev/null
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$name-web-0" 2>/dev/null || true)" = healthy ]; do
    sleep 0.1
  done
  restored=$(now_ms)
  sleep 0.5
  pass_ms=$(grep '"event":"pass"' "$events" | grep '"outcome":"restored"' | tail -1 | sed 's/.*"duration_ms":\([0-9]*\).*/\1/')
  total=$((restored - lost))
  echo "round $round: lost -> restored ${total} ms = waiting for the next pass $((total - pass_ms)) ms + restoring pass ${pass_ms} ms"
done
