#!/usr/bin/env bash
# `npm run stack` — the whole local stack: PostgreSQL, Kafka, OpenFGA, the dev IdP and the
# four Fedgate services over HTTPS. Installs what is missing, waits for every part to be
# healthy and writes .fedgate/stack.json. Foreground by default (Ctrl-C stops everything);
# `--detach` returns once healthy (`npm run stack:down` stops it). `--with-superlink` also
# starts a Flower SuperLink with Fedgate's plugins (scripts/infra/superlink.sh).
# `--idp URL` (with --idp-client-id, --idp-audience, --idp-scope, --idp-ca-file, --admin, ...,
# or --idp-env-file FILE; see scripts/infra/idp.sh) runs it against your own identity provider
# instead of the dev IdP.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/infra/lib.sh"

DETACH=0
WITH_SUPERLINK=0
IDP_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --detach|-d) DETACH=1 ;;
    --with-superlink) WITH_SUPERLINK=1 ;;
    --idp|--idp-*|--admin|--admin-sub)
      [ $# -ge 2 ] || die "option $1 needs a value"
      IDP_ARGS+=("$1" "$2")
      shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) die "unknown option $1 (use --detach, --with-superlink, --idp URL and its options)" ;;
  esac
  shift
done

ensure_secrets
secure_state
# the IdP settings are checked before anything is built or started
bash "$ROOT/scripts/infra/idp.sh" configure "${IDP_ARGS[@]}"
bash "$ROOT/scripts/build.sh"
bash "$ROOT/scripts/infra/tls.sh" ensure
for part in postgres kafka openfga; do bash "$ROOT/scripts/infra/$part.sh" install; done

if [ "$DETACH" = 0 ]; then
  # foreground: whatever happens (Ctrl-C, a failed start), leave nothing running
  # (a second Ctrl-C or the terminal closing must not cut the shutdown short)
  trap 'trap "" INT TERM HUP; trap - EXIT; log "stopping the stack"; bash "$ROOT/scripts/stack-down.sh"' EXIT INT TERM HUP
fi

bash "$ROOT/scripts/infra/postgres.sh" start
bash "$ROOT/scripts/infra/kafka.sh" start
bash "$ROOT/scripts/infra/openfga.sh" start
. "$ROOT/scripts/infra/service-env.sh"

log "applying database migrations"
(cd "$ROOT" && npx prisma migrate deploy >"$RUN/migrate.log" 2>&1) || { show_log_tail "$RUN/migrate.log"; die "migrations failed"; }

if [ -f "$STATE/idp.env" ]; then
  bash "$ROOT/scripts/infra/idp.sh" check
else
  bash "$ROOT/scripts/infra/dev-idp.sh" start
fi
bash "$ROOT/scripts/infra/services.sh" start
bash "$ROOT/scripts/infra/stack-file.sh" write
if [ "$WITH_SUPERLINK" = 1 ]; then bash "$ROOT/scripts/infra/superlink.sh" start; fi

log "stack is up: $STATE/stack.json"
if [ "$DETACH" = 1 ]; then
  exit 0
fi
log "running in the foreground; Ctrl-C stops everything (logs in $RUN)"
while true; do sleep 3600 & wait $!; done
