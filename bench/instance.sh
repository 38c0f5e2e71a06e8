#!/usr/bin/env bash
# An extra service process of the bench's own, configured like the stack's (for profiling):
#   bench/instance.sh start [SERVICE] PORT [node flags...]   SERVICE: token (default), authz, login, audit
#                 e.g. bench/instance.sh start authz 17033 --cpu-prof --cpu-prof-dir=/tmp/prof
#   bench/instance.sh stop [SERVICE] PORT                      SIGTERM, waits for exit (a --cpu-prof profile is written then)
# One worker, the service's own database role and Kafka principal, as scripts/infra/services.sh
# starts it. Logs and pid files go to ${BENCH_OUT:-/tmp/fedgate-bench}; the stack's own processes
# are never touched (an extra authz-service joins the stack's consumer groups while it runs).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
. "$ROOT/scripts/infra/lib.sh"
ensure_secrets
. "$ROOT/scripts/infra/service-env.sh"
OUT=${BENCH_OUT:-/tmp/fedgate-bench}
mkdir -p "$OUT"
cmd=${1:?start|stop}; shift
svc=token
case ${1:-} in token|authz|login|audit) svc=$1; shift ;; esac
port=${1:?port}; shift
name=$svc-service
pidfile=$OUT/$name-$port.pid
case $cmd in
  start)
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && die "already running: pid $(cat "$pidfile")"
    url_var=FEDGATE_${svc^^}_DATABASE_URL
    FEDGATE_KAFKA_USERNAME=$name FEDGATE_KAFKA_PASSWORD=$(kafka_password_of "$name") FEDGATE_DATABASE_URL=${!url_var} \
      FEDGATE_WORKERS=1 FEDGATE_PORT=$port nohup node "$@" "$ROOT/dist/apps/$name/src/main.js" >"$OUT/$name-$port.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 120); do
      curl -fsS --cacert "$TLS_DIR/ca.pem" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { echo "$(cat "$pidfile")"; exit 0; }
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 "$OUT/$name-$port.log" >&2; die "$name on $port exited"; }
      sleep 0.5
    done
    die "$name on $port not ready after 60 s" ;;
  stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$pidfile" ;;
  *) die "usage: $0 start|stop [SERVICE] PORT [node flags]" ;;
esac
