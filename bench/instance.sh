#!/usr/bin/env bash
# An extra token-service process of the bench's own, configured like the stack's (for profiling):
#   bench/instance.sh start PORT [node flags...]   e.g. bench/instance.sh start 17032 --cpu-prof --cpu-prof-dir=/tmp/prof
#   bench/instance.sh stop PORT                     SIGTERM, waits for exit (a --cpu-prof profile is written then)
# Logs and pid files go to ${BENCH_OUT:-/tmp/fedgate-bench}; the stack's own processes are never touched.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
. "$ROOT/scripts/infra/lib.sh"
ensure_secrets
. "$ROOT/scripts/infra/service-env.sh"
OUT=${BENCH_OUT:-/tmp/fedgate-bench}
mkdir -p "$OUT"
cmd=${1:?start|stop}; port=${2:?port}; shift 2
pidfile=$OUT/token-service-$port.pid
case $cmd in
  start)
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && die "already running: pid $(cat "$pidfile")"
    FEDGATE_PORT=$port nohup node "$@" "$ROOT/dist/apps/token-service/src/main.js" >"$OUT/token-service-$port.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 120); do
      curl -fsS --cacert "$TLS_DIR/ca.pem" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { echo "$(cat "$pidfile")"; exit 0; }
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 "$OUT/token-service-$port.log" >&2; die "token-service on $port exited"; }
      sleep 0.5
    done
    die "token-service on $port not ready after 60 s" ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$pidfile" ;;
  *) die "usage: $0 start|stop PORT [node flags]" ;;
esac
