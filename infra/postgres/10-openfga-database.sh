#!/usr/bin/env bash
# Run once by the official postgres image, on an empty data directory only: docker-compose.yml
# mounts this folder into /docker-entrypoint-initdb.d. The image has already created
# POSTGRES_USER and POSTGRES_DB; this adds OpenFGA's database, owned by the same user,
# as scripts/infra/postgres.sh does natively. OPENFGA_PG_DATABASE comes from infra/stack.env
# through the compose file. psql reaches the entrypoint's temporary server over its unix
# socket (PGPORT is set, so the socket name matches the port the server uses).
set -euo pipefail

: "${POSTGRES_USER:?set by the postgres image}"
: "${OPENFGA_PG_DATABASE:?OPENFGA_PG_DATABASE must be set (infra/stack.env)}"

# Same identifier rule as the native script, so both accept the same stack.env.
for name in "$POSTGRES_USER" "$OPENFGA_PG_DATABASE"; do
  if ! [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]]; then
    echo "10-openfga-database.sh: unsupported identifier '$name' in stack.env" >&2
    exit 1
  fi
done

# \gexec makes CREATE conditional (CREATE DATABASE cannot run inside a DO block); a no-op
# when OPENFGA_PG_DATABASE equals POSTGRES_DB.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
  -v db="$OPENFGA_PG_DATABASE" -v owner="$POSTGRES_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
