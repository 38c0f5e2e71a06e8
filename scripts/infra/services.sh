#!/usr/bin/env bash
# The four Fedgate services of the local stack (compiled by scripts/build.sh).
#   services.sh start    start login, token, authz and audit services; wait until /readyz answers 200
#   services.sh stop     stop them
#   services.sh status   exit 0 if all four are running
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_secrets
. "$(dirname "${BASH_SOURCE[0]}")/service-env.sh"

SERVICES=(login token authz audit)
port_of() { local var=${1^^}_PORT; echo "${!var}"; }
workers_of() { local var=${1^^}_WORKERS; echo "${!var:-1}"; }
# the audit-service answers no authorization or verification request: background work
# (BACKGROUND_NICE in infra/stack.env)
nice_of() { if [ "$1" = audit ]; then echo "${BACKGROUND_NICE:-0}"; else echo 0; fi; }
# each service connects as its own database role (service-env.sh), never as the owner
database_url_of() { local var=FEDGATE_${1^^}_DATABASE_URL; echo "${!var}"; }

cmd_start() {
  local svc port pidfile status
  for svc in "${SERVICES[@]}"; do
    pidfile=$RUN/$svc-service.pid
    if is_running "$pidfile" "$svc-service"; then log "$svc-service: already running"; continue; fi
    port=$(port_of "$svc")
    require_free_port "$svc-service" "$port"
    # each service is its own Kafka principal (README "Kafka security")
    FEDGATE_KAFKA_USERNAME=$svc-service FEDGATE_KAFKA_PASSWORD=$(kafka_password_of "$svc-service") \
      FEDGATE_PORT=$port FEDGATE_WORKERS=$(workers_of "$svc") FEDGATE_DATABASE_URL=$(database_url_of "$svc") SPAWN_NICE=$(nice_of "$svc") \
      spawn "$pidfile" "$RUN/$svc-service.log" node "$ROOT/dist/apps/$svc-service/src/main.js"
  done
  # started together, then waited for: they boot in parallel
  for svc in "${SERVICES[@]}"; do
    port=$(port_of "$svc")
    status=0
    WAIT_PIDFILE=$RUN/$svc-service.pid wait_for curl -fsS --cacert "$TLS_DIR/ca.pem" "$(service_url "$port")/readyz" 90 || status=$?
    if [ "$status" != 0 ]; then
      show_log_tail "$RUN/$svc-service.log"
      die "$svc-service did not become ready on port $port"
    fi
    log "$svc-service: ready on $(service_url "$port")"
  done
}

cmd_stop() {
  local svc
  for svc in "${SERVICES[@]}"; do stop_pidfile "$RUN/$svc-service.pid" "$svc-service"; done
}

cmd_status() {
  local svc
  for svc in "${SERVICES[@]}"; do is_running "$RUN/$svc-service.pid" "$svc-service" || return 1; done
}

dispatch "${1:-}"
