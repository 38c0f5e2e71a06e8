#!/usr/bin/env bash
# Run once by the official postgres image, on an empty data directory only: docker-compose.yml
# mounts this folder into /docker-entrypoint-initdb.d. POSTGRES_USER is the image's superuser,
# used for this init only. Like scripts/infra/postgres.sh natively, it makes Fedgate's roles and
# both databases from roles.psql: the owner ${PG_USER} (migrations), one role per service, the
# audit maintenance role, and ${OPENFGA_PG_USER} owning ${OPENFGA_PG_DATABASE}. psql reaches the
# entrypoint's temporary server over its unix socket (PGPORT is set, so the socket name matches).
set -euo pipefail

: "${POSTGRES_USER:?set by the postgres image}"
for var in PG_USER PG_DATABASE OPENFGA_PG_USER OPENFGA_PG_DATABASE; do
  : "${!var:?$var must be set (infra/stack.env, through docker-compose.yml)}"
  # Same identifier rule as the native script, so both accept the same stack.env.
  if ! [[ "${!var}" =~ ^[a-z_][a-z0-9_]*$ ]]; then
    echo "10-fedgate-roles.sh: unsupported identifier '${!var}' in stack.env" >&2
    exit 1
  fi
done

# passwords as \set lines on stdin, never on a command line
{
  printf '\\set %s %s\n' owner "$PG_USER" owner_pw "$FEDGATE_PG_PASSWORD" owner_attrs NOCREATEDB db "$PG_DATABASE" \
    openfga "$OPENFGA_PG_USER" openfga_pw "$OPENFGA_PG_PASSWORD" openfga_db "$OPENFGA_PG_DATABASE" \
    login_pw "$FEDGATE_PG_LOGIN_PASSWORD" token_pw "$FEDGATE_PG_TOKEN_PASSWORD" authz_pw "$FEDGATE_PG_AUTHZ_PASSWORD" \
    audit_pw "$FEDGATE_PG_AUDIT_PASSWORD" maintenance_pw "$FEDGATE_PG_AUDIT_MAINTENANCE_PASSWORD"
  cat "$(dirname "${BASH_SOURCE[0]}")/roles.psql"
} | psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres
