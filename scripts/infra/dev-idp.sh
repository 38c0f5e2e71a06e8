#!/usr/bin/env bash
# The development OIDC identity provider (apps/dev-idp: npm oidc-provider over HTTPS).
#   dev-idp.sh start | stop | status
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_secrets
. "$(dirname "${BASH_SOURCE[0]}")/service-env.sh"

PIDFILE=$RUN/dev-idp.pid

cmd_start() {
  if is_running "$PIDFILE" dev-idp; then log "dev-idp: already running"; return 0; fi
  require_free_port dev-idp "$IDP_PORT"
  mkdir -p "$DATA/dev-idp"
  FEDGATE_IDP_ISSUER=$FEDGATE_OIDC_ISSUER \
  FEDGATE_IDP_JWKS_FILE=$DATA/dev-idp/jwks.json \
  FEDGATE_IDP_USERS=$(dev_idp_users_json) \
    spawn "$PIDFILE" "$RUN/dev-idp.log" node "$ROOT/dist/apps/dev-idp/src/main.js"
  local status=0
  WAIT_PIDFILE=$PIDFILE wait_for curl -fsS --cacert "$TLS_DIR/ca.pem" "$FEDGATE_OIDC_ISSUER/.well-known/openid-configuration" 60 || status=$?
  if [ "$status" != 0 ]; then show_log_tail "$RUN/dev-idp.log"; die "dev-idp did not start"; fi
  log "dev-idp: up at $FEDGATE_OIDC_ISSUER"
}

cmd_stop() { stop_pidfile "$PIDFILE" dev-idp; }
cmd_status() { is_running "$PIDFILE" dev-idp; }

dispatch "${1:-}"
