#!/usr/bin/env bash
# Local OpenFGA for Fedgate: built from source via the Go module proxy, PostgreSQL datastore,
# preshared-key auth.
#   openfga.sh install   go install into $CACHE/openfga-$OPENFGA_VERSION (once; ~6 min cold on 2 cores)
#   openfga.sh start     migrate the schema, run the server, wait for /healthz = SERVING
#   openfga.sh stop      stop the server's process group
#   openfga.sh status    exit 0 if running and healthy
# Configured ONLY through OPENFGA_* environment variables, the same ones docker-compose.yml sets.
set -euo pipefail
# shellcheck source=scripts/infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FGA_DIR=$CACHE/openfga-$OPENFGA_VERSION
FGA_BIN=$FGA_DIR/openfga
PIDFILE=$RUN/openfga.pid
FLOG=$RUN/openfga.log
MIGRATE_LOG=$RUN/openfga-migrate.log
HEALTH_URL=http://127.0.0.1:$OPENFGA_HTTP_PORT/healthz
GO_PKG=github.com/openfga/openfga/cmd/openfga

binary_ok() {
  [ -x "$FGA_BIN" ] && "$FGA_BIN" version >/dev/null 2>&1
}

# A `go install` of the same package+version already running (another checkout, or one
# started by hand): wait for it instead of burning the CPUs on a second compile.
other_build_pids() {
  pgrep -f "go install .*${GO_PKG}@${OPENFGA_VERSION}" || true
}

cmd_install() {
  local t0=$SECONDS waited=0
  mkdir -p "$FGA_DIR"
  (
    exec 9>"$FGA_DIR.lock"
    flock 9
    while [ -n "$(other_build_pids)" ]; do
      [ "$waited" = 1 ] || log "openfga: a 'go install ...openfga@$OPENFGA_VERSION' is already running; waiting for it"
      waited=1
      sleep 5
    done
    if binary_ok; then
      log "openfga: $OPENFGA_VERSION present ($FGA_BIN)"
      exit 0
    fi
    command -v go >/dev/null || die "openfga: go not found (needed to build OpenFGA $OPENFGA_VERSION)"
    rm -f "$FGA_BIN" # possibly truncated by an interrupted build
    log "openfga: building $GO_PKG@$OPENFGA_VERSION (first time only; several minutes on 2 cores)"
    # CGO off: static binary, no C toolchain needed; -s -w: smaller binary.
    CGO_ENABLED=0 GOBIN=$FGA_DIR go install -trimpath -ldflags="-s -w" "$GO_PKG@$OPENFGA_VERSION" ||
      die "openfga: go install failed"
    binary_ok || die "openfga: built binary does not run"
    log "openfga: built in $((SECONDS - t0)) s"
  )
}

# Server settings. Names verified against `openfga run --help` / `openfga migrate --help`
# (viper: flag --a-b <-> env OPENFGA_A_B).
fga_env() {
  cat <<EOF
OPENFGA_DATASTORE_ENGINE=postgres
OPENFGA_DATASTORE_URI=postgres://$OPENFGA_PG_USER:$OPENFGA_PG_PASSWORD@127.0.0.1:$PG_PORT/$OPENFGA_PG_DATABASE?sslmode=disable
OPENFGA_DATASTORE_MAX_OPEN_CONNS=20
OPENFGA_AUTHN_METHOD=preshared
OPENFGA_AUTHN_PRESHARED_KEYS=$OPENFGA_PRESHARED_KEY
OPENFGA_HTTP_ADDR=127.0.0.1:$OPENFGA_HTTP_PORT
OPENFGA_GRPC_ADDR=127.0.0.1:$OPENFGA_GRPC_PORT
OPENFGA_PLAYGROUND_ENABLED=false
OPENFGA_METRICS_ENABLED=false
OPENFGA_DATASTORE_METRICS_ENABLED=false
OPENFGA_TRACE_ENABLED=false
OPENFGA_LOG_FORMAT=json
OPENFGA_LOG_LEVEL=${OPENFGA_LOG_LEVEL:-info}
EOF
}

# with_fga_env CMD... — run CMD (in a subshell) with exactly our OPENFGA_* settings exported.
# The stack's own OPENFGA_VERSION/_HTTP_PORT/... are removed first: OpenFGA reads every
# OPENFGA_<KEY> through viper, and `migrate` has a --version flag (OPENFGA_VERSION would be
# taken as a schema version). Exported rather than passed on a command line so the
# password/key never show up in `ps`.
with_fga_env() {
  local settings line
  settings=$(fga_env) # before the unset below: the URI and keys are built from those variables
  (
    unset OPENFGA_VERSION OPENFGA_HTTP_PORT OPENFGA_GRPC_PORT OPENFGA_PG_DATABASE OPENFGA_PG_USER OPENFGA_PG_PASSWORD OPENFGA_PRESHARED_KEY
    while IFS= read -r line; do export "${line?}"; done <<<"$settings"
    "$@"
  )
}

healthy() {
  curl -fsS --max-time 2 "$HEALTH_URL" 2>/dev/null | grep -q SERVING
}

cmd_start() {
  local t0=$SECONDS rc=0
  if is_running "$PIDFILE" "$FGA_BIN"; then
    log "openfga: already running (pid $(pid_of "$PIDFILE")) on http://127.0.0.1:$OPENFGA_HTTP_PORT"
    return 0
  fi
  rm -f "$PIDFILE"
  ensure_secrets
  command -v curl >/dev/null || die "openfga: curl is required for the health check"
  port_open "$PG_PORT" || die "openfga: PostgreSQL is not up on 127.0.0.1:$PG_PORT; run scripts/infra/postgres.sh start first"
  cmd_install
  require_free_port openfga-http "$OPENFGA_HTTP_PORT"
  require_free_port openfga-grpc "$OPENFGA_GRPC_PORT"
  # Idempotent: applies only missing schema migrations.
  log "openfga: migrating datastore $OPENFGA_PG_DATABASE"
  with_fga_env "$FGA_BIN" migrate >"$MIGRATE_LOG" 2>&1 || { show_log_tail "$MIGRATE_LOG"; die "openfga: migrate failed"; }
  log "openfga: starting on http://127.0.0.1:$OPENFGA_HTTP_PORT, grpc 127.0.0.1:$OPENFGA_GRPC_PORT (log $FLOG)"
  with_fga_env spawn "$PIDFILE" "$FLOG" "$FGA_BIN" run
  WAIT_PIDFILE=$PIDFILE wait_for healthy 60 || rc=$?
  if [ "$rc" != 0 ]; then
    show_log_tail "$FLOG"
    [ "$rc" = 2 ] && { rm -f "$PIDFILE"; die "openfga: server exited during startup"; }
    stop_pidfile "$PIDFILE" "$FGA_BIN"
    die "openfga: not SERVING after 60 s"
  fi
  log "openfga: up in $((SECONDS - t0)) s — http://127.0.0.1:$OPENFGA_HTTP_PORT (Authorization: Bearer \$OPENFGA_PRESHARED_KEY)"
}

cmd_stop() {
  if ! is_running "$PIDFILE" "$FGA_BIN"; then
    rm -f "$PIDFILE"
    log "openfga: not running"
    return 0
  fi
  log "openfga: stopping (pid $(pid_of "$PIDFILE"))"
  stop_pidfile "$PIDFILE" "$FGA_BIN"
  log "openfga: stopped"
}

cmd_status() {
  if is_running "$PIDFILE" "$FGA_BIN" && healthy; then
    log "openfga: running (pid $(pid_of "$PIDFILE")) on http://127.0.0.1:$OPENFGA_HTTP_PORT"
    return 0
  fi
  log "openfga: not running"
  return 1
}

dispatch "${1:-}"
