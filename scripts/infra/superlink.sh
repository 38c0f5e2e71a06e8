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
#
# User code stays away from the SuperLink's secrets, as Flower recommends for production:
# the SuperLink runs with `--isolation process` and the ServerApp executor (flwr's
# `flower-superexec`, which starts `flwr-serverapp` for each run) is a separate process under
# its own unprivileged user (SUPERLINK_EXECUTOR_USER, default fedgate-serverapp, created when
# missing), with an empty environment, a home of its own (FLWR_HOME, the FABs it installs) and
# the CA certificate as its only file from the stack. The stack's state dir is 0700 (lib.sh),
# so that user reads none of its keys. Creating the user and switching to it needs root (CI);
# as another user the executor runs as you, and a warning says so.
# SUPERLINK_ISOLATION=subprocess gives flwr's own default back (flwr starts the executor as the
# SuperLink's own child, same user); SUPERLINK_EXECUTOR=none starts no executor, so runs stay
# pending (the end-to-end test, which needs no SuperNodes).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_secrets
. "$(dirname "${BASH_SOURCE[0]}")/service-env.sh"

PIDFILE=$RUN/superlink.pid
EXEC_PIDFILE=$RUN/superexec.pid
EXECUTOR_USER=${SUPERLINK_EXECUTOR_USER:-fedgate-serverapp}
# the executor's home: outside the private state dir, its user's own (one per stack)
EXECUTOR_HOME=/var/lib/fedgate/serverapp-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
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

# executor_user_ready — the unprivileged user exists (created as a system user without a shell)
executor_user_ready() {
  id -u "$EXECUTOR_USER" >/dev/null 2>&1 && return 0
  log "superlink: creating the system user $EXECUTOR_USER for the ServerApp executor"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$EXECUTOR_USER" ||
    die "superlink: cannot create the user $EXECUTOR_USER (set SUPERLINK_EXECUTOR_USER to an existing unprivileged user)"
}

# start_executor VENV MINOR — flower-superexec under its own user, fetching the runs the SuperLink
# holds from its Runtime (ServerAppIo) API: over TLS on the one port from 1.37; before, on
# SUPERLINK_SERVERAPPIO_PORT without TLS (loopback only; flwr 1.22-1.36 serve it so)
start_executor() {
  local venv=$1 minor=$2 home=$EXECUTOR_HOME
  local -a as_user=() addr_args
  if [ "$(id -u)" = 0 ]; then
    executor_user_ready
    # setpriv: no supplementary groups, no capabilities, cannot regain privileges
    as_user=(setpriv --reuid="$EXECUTOR_USER" --regid="$EXECUTOR_USER" --clear-groups --inh-caps=-all --no-new-privs --)
  else
    log "superlink: WARNING: not root, so the ServerApp executor runs as $(id -un), the SuperLink's user: user code can read this stack's state"
  fi
  # a fresh home each start: the FABs of earlier runs and anything their code left are gone
  rm -rf "$home" && mkdir -p "$home/.flwr"
  cp "$SUPERLINK_TLS/ca.pem" "$home/ca.pem"
  if [ "$(id -u)" = 0 ]; then chown -R "$EXECUTOR_USER:$EXECUTOR_USER" "$home"; fi
  chmod 700 "$home"
  if [ "$minor" -ge 37 ]; then
    addr_args=(--root-certificates "$home/ca.pem" --runtime-api-address "127.0.0.1:$SUPERLINK_CONTROL_PORT")
  else
    # --appio-api-address was renamed in 1.36
    addr_args=(--insecure "$([ "$minor" -ge 36 ] && echo --runtime-api-address || echo --appio-api-address)" "127.0.0.1:$SUPERLINK_SERVERAPPIO_PORT")
  fi
  # required until 1.39 (1.40+ choose by the task and ignore it)
  [ "$minor" -ge 40 ] || addr_args+=(--plugin-type serverapp)
  spawn "$EXEC_PIDFILE" "$RUN/superexec.log" env -i -C "$home" PATH="$venv/bin:/usr/bin:/bin" HOME="$home" FLWR_HOME="$home/.flwr" \
    LANG=C.UTF-8 FLWR_TELEMETRY_ENABLED=0 "${as_user[@]}" "$venv/bin/flower-superexec" "${addr_args[@]}"
  # it has started when it runs as its user (setpriv has exec'd) and is still alive after connecting
  wait_for executor_alive 30 || { show_log_tail "$RUN/superexec.log"; die "the ServerApp executor did not start"; }
  log "superlink: ServerApp executor running as $(ps -o user= -p "$(pid_of "$EXEC_PIDFILE")")"
}

# alive, and (as root) already running as its own user: setpriv has switched before flwr started
executor_alive() {
  is_running "$EXEC_PIDFILE" flower-superexec || return 1
  [ "$(id -u)" != 0 ] || [ "$(stat -c %U "/proc/$(pid_of "$EXEC_PIDFILE")")" = "$EXECUTOR_USER" ]
}

cmd_start() {
  local venv port status=0
  local isolation=${SUPERLINK_ISOLATION:-process} executor=${SUPERLINK_EXECUTOR:-unprivileged}
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
  chmod 700 "$DATA/superlink"
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
    --isolation "$isolation" \
    --database "$DATA/superlink/state-$(basename "$venv").db"
  WAIT_PIDFILE=$PIDFILE wait_for health_probe "$venv" 90 || status=$?
  if [ "$status" != 0 ]; then show_log_tail "$RUN/superlink.log"; die "superlink did not start"; fi
  log "superlink: up, Control API at 127.0.0.1:$SUPERLINK_CONTROL_PORT (TLS)"
  if [ "$isolation" = process ] && [ "$executor" != none ]; then start_executor "$venv" "$minor"; fi
}

cmd_stop() {
  stop_pidfile "$EXEC_PIDFILE" flower-superexec
  stop_pidfile "$PIDFILE" fedgate_flower
}
cmd_status() { is_running "$PIDFILE" fedgate_flower; }

dispatch "${1:-}"
