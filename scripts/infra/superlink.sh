#!/usr/bin/env bash
# The Flower SuperLink of the local stack, authenticated and authorized by Fedgate
# (integrations/flower: `fedgate-superlink`, run from this checkout's source in the cached
# flwr venv of flwr.sh). TLS with the stack's server certificate (SAN `superlink`,
# localhost, 127.0.0.1); plugin settings from .fedgate/stack.json.
#   superlink.sh start | stop | status
# The flwr release is FLWR_VERSION (infra/stack.env, or FEDGATE_FLWR_VERSION). From 1.37 the
# SuperLink serves the Control, Fleet and Runtime APIs over HTTP on one port
# (SUPERLINK_CONTROL_PORT here); 1.22-1.36 keep gRPC Control and Fleet APIs on their own ports
# (1.35-1.36 serve the Runtime API over HTTP, on SUPERLINK_SERVERAPPIO_PORT).
# SUPERLINK_ISOLATION (default subprocess) is passed to --isolation; the end-to-end test
# uses `process` so that created runs stay pending without SuperNodes.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_secrets
. "$(dirname "${BASH_SOURCE[0]}")/service-env.sh"

PIDFILE=$RUN/superlink.pid
# the SuperLink's Fedgate key (role superlink, its service only), mode 0600
SUPERLINK_KEY_FILE=$DATA/superlink/fedgate-api-key
SUPERLINK_TLS=$DATA/superlink/tls

# a gRPC health probe on the health port (plain, loopback only): the SuperLink answers SERVING
health_probe() {
  "$1/bin/python" - "$SUPERLINK_HEALTH_PORT" <<'PY'
import sys, grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
with grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}") as channel:
    answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
sys.exit(0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1)
PY
}

cmd_start() {
  local venv port status=0
  if is_running "$PIDFILE" fedgate_flower; then log "superlink: already running"; return 0; fi
  [ -f "$STATE/stack.json" ] || die "superlink: no $STATE/stack.json (start the stack first)"
  venv=$(bash "$ROOT/scripts/infra/flwr.sh" ensure)
  for port in SUPERLINK_SERVERAPPIO_PORT SUPERLINK_FLEET_PORT SUPERLINK_CONTROL_PORT SUPERLINK_HEALTH_PORT; do
    require_free_port "superlink ($port)" "${!port}"
  done
  mkdir -p "$DATA/superlink"
  local -a api_args
  local minor
  minor=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("flwr").split(".")[1])')
  if [ "$minor" -ge 37 ]; then
    api_args=(--host 127.0.0.1 --port "$SUPERLINK_CONTROL_PORT")
  else
    api_args=(--fleet-api-address "127.0.0.1:$SUPERLINK_FLEET_PORT" --control-api-address "127.0.0.1:$SUPERLINK_CONTROL_PORT")
    if [ "$minor" -ge 35 ]; then
      # 1.35-1.36: the Runtime (ServerAppIo) API is HTTP already, Control and Fleet still gRPC
      api_args+=(--host 127.0.0.1 --port "$SUPERLINK_SERVERAPPIO_PORT")
    else
      api_args+=(--serverappio-api-address "127.0.0.1:$SUPERLINK_SERVERAPPIO_PORT")
    fi
    # 1.22-1.23 keep FABs on disk; 1.34+ in the database and have no such flag
    [ "$minor" -ge 34 ] || api_args+=(--storage-dir "$DATA/superlink/ffs")
  fi
  # the SuperLink's own files: its key, in a file only its owner reads (the launcher refuses
  # anything else), and its own TLS certificate and key with the CA certificate (tls.sh superlink)
  (umask 077 && printf '%s' "$FEDGATE_API_KEY" >"$SUPERLINK_KEY_FILE.tmp" && mv -f "$SUPERLINK_KEY_FILE.tmp" "$SUPERLINK_KEY_FILE")
  bash "$ROOT/scripts/infra/tls.sh" superlink "$SUPERLINK_TLS" >/dev/null
  # a clean environment (env -i): none of the stack's secrets, which lib.sh exports, reaches the
  # SuperLink or the ServerApps it starts; the venv first on PATH (flower-superexec, flwr-serverapp)
  spawn "$PIDFILE" "$RUN/superlink.log" env -i PATH="$venv/bin:/usr/local/bin:/usr/bin:/bin" HOME="$DATA/superlink" LANG=C.UTF-8 \
    PYTHONPATH="$ROOT/integrations/flower/src" FLWR_TELEMETRY_ENABLED=0 \
    "$venv/bin/python" -m fedgate_flower.launcher \
    --stack-file "$STATE/stack.json" --api-key-file "$SUPERLINK_KEY_FILE" \
    --ssl-ca-certfile "$SUPERLINK_TLS/ca.pem" --ssl-certfile "$SUPERLINK_TLS/superlink.pem" --ssl-keyfile "$SUPERLINK_TLS/superlink-key.pem" \
    "${api_args[@]}" \
    --health-server-address "127.0.0.1:$SUPERLINK_HEALTH_PORT" \
    --isolation "${SUPERLINK_ISOLATION:-subprocess}" \
    --database "$DATA/superlink/state-$(basename "$venv").db"
  WAIT_PIDFILE=$PIDFILE wait_for health_probe "$venv" 90 || status=$?
  if [ "$status" != 0 ]; then show_log_tail "$RUN/superlink.log"; die "superlink did not start"; fi
  log "superlink: up, Control API at 127.0.0.1:$SUPERLINK_CONTROL_PORT (TLS)"
}

cmd_stop() { stop_pidfile "$PIDFILE" fedgate_flower; }
cmd_status() { is_running "$PIDFILE" fedgate_flower; }

dispatch "${1:-}"
