#!/usr/bin/env bash
# Local PostgreSQL for Fedgate (Debian's server binaries, no systemd, no docker).
#   postgres.sh install   apt-get install postgresql if no server binaries exist
#   postgres.sh start     initdb once, start on 127.0.0.1:$PG_PORT, ensure roles/databases
#   postgres.sh stop      pg_ctl stop -m fast
#   postgres.sh status    exit 0 if the server is up
# Admin work uses the superuser over the private unix socket (peer auth, no superuser
# password); TCP on 127.0.0.1 requires a role's password (scram-sha-256): $PG_USER owns
# Fedgate's database and runs the migrations, each service has its own role (README
# "Database roles"), OpenFGA has $OPENFGA_PG_USER and its own database.
set -euo pipefail
# shellcheck source=scripts/infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IS_ROOT=$([ "$(id -u)" = 0 ] && echo 1 || echo 0)
# Postgres refuses to run as root: as root we use the `postgres` OS user, otherwise
# the current user owns the cluster.
if [ "$IS_ROOT" = 1 ]; then PG_OS_USER=postgres; else PG_OS_USER=$(id -un); fi
PG_LOG=$RUN/postgres.log

# cd / first: the postgres user may not be allowed into the caller's cwd (e.g. /root/x).
as_pg() {
  if [ "$IS_ROOT" = 1 ]; then (cd / && runuser -u "$PG_OS_USER" -- "$@"); else "$@"; fi
}

chown_pg() {
  if [ "$IS_ROOT" = 1 ]; then chown "$PG_OS_USER:" "$1"; fi
}

# can_reach DIR — the postgres OS user can traverse DIR (x on every parent).
can_reach() {
  [ "$IS_ROOT" = 1 ] || return 0
  runuser -u "$PG_OS_USER" -- test -x "$1" 2>/dev/null
}

# Decide where the cluster lives. Normally $DATA/postgres. When the checkout sits where
# the postgres user cannot traverse (e.g. /root/x, mode 700) we do not loosen the user's
# home permissions; the cluster goes to /var/lib/postgresql/fedgate-<hash of STATE>
# (postgres' own home: persistent, unlike /var/tmp which tmpfiles may clean) and
# $DATA/postgres becomes a symlink recording that choice. A cluster found there without that
# symlink belongs to a state dir that was deleted (a fresh checkout at the same path, as CI's):
# ORPHAN=1, and start replaces it (cmd_start).
ORPHAN=0
resolve_paths() {
  local link=$DATA/postgres base
  if [ -L "$link" ]; then
    PGDATA_DIR=$(readlink "$link")
    PG_BASE=$(dirname "$PGDATA_DIR")
    PG_SOCK=$PG_BASE/socket
  elif [ -d "$link" ] && ! can_reach "$link"; then
    # a cluster made before the state dir became 0700 (lib.sh secure_state): moved out once,
    # to where postgres reaches it, the symlink recording it (the server is stopped here)
    base=/var/lib/postgresql/fedgate-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
    [ ! -f "$link/postmaster.pid" ] || die "postgres: the cluster in $link is running but its state dir is now private; stop it (chmod 755 $STATE; npm run stack:down) and start again"
    log "postgres: moving the cluster out of the private state dir to $base/data"
    mkdir -p "$base" && chown_pg "$base" && chmod 700 "$base"
    mv "$link" "$base/data" && ln -s "$base/data" "$link"
    PGDATA_DIR=$base/data
    PG_BASE=$(dirname "$PGDATA_DIR")
    PG_SOCK=$PG_BASE/socket
  elif [ -d "$link" ] || can_reach "$DATA"; then
    PGDATA_DIR=$link
    PG_BASE=""
    PG_SOCK=$RUN/pg-socket
  else
    base=/var/lib/postgresql/fedgate-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
    PGDATA_DIR=$base/data
    PG_BASE=$base
    PG_SOCK=$base/socket
    if [ -e "$PGDATA_DIR" ]; then ORPHAN=1; fi
  fi
  # unix socket paths are limited to ~107 bytes; fall back to a short private dir.
  if [ $((${#PG_SOCK} + 20)) -gt 100 ]; then
    PG_SOCK=/var/lib/postgresql/fedgate-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)/socket
  fi
}

# Server binaries matching the cluster's major version (a newer installed major must not
# try to open an older cluster); otherwise the newest installed.
pg_bin() {
  local v
  if [ -f "$PGDATA_DIR/PG_VERSION" ]; then
    read -r v <"$PGDATA_DIR/PG_VERSION"
    [ -x "/usr/lib/postgresql/$v/bin/postgres" ] && { echo "/usr/lib/postgresql/$v/bin"; return; }
    die "cluster in $PGDATA_DIR is PostgreSQL $v but /usr/lib/postgresql/$v/bin is missing"
  fi
  v=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null | sort -V | tail -n1)
  [ -n "$v" ] || die "no PostgreSQL server binaries; run: $0 install"
  dirname "$v"
}

cmd_install() {
  if compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    log "postgres: server binaries present ($(pg_bin_any))"
    return 0
  fi
  [ "$IS_ROOT" = 1 ] || die "postgres: installing needs root: sudo apt-get install -y postgresql"
  log "postgres: installing with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends postgresql
}

pg_bin_any() { dirname "$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' | sort -V | tail -n1)"; }

is_up() {
  local bin
  [ -f "$PGDATA_DIR/postmaster.pid" ] || return 1
  bin=$(pg_bin)
  as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}

# Superuser psql over the private socket; SQL on stdin so passwords never hit `ps`.
psql_admin() {
  as_pg "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_SUPER" -d postgres
}

init_cluster() {
  local bin
  bin=$(pg_bin)
  log "postgres: initdb in $PGDATA_DIR"
  if [ -n "$PG_BASE" ]; then
    mkdir -p "$PG_BASE"
    chown_pg "$PG_BASE"
    chmod 700 "$PG_BASE"
  fi
  mkdir -p "$PGDATA_DIR"
  chown_pg "$PGDATA_DIR"
  chmod 700 "$PGDATA_DIR"
  as_pg "$bin/initdb" -D "$PGDATA_DIR" -U "$PG_SUPER" -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 --no-instructions >"$RUN/postgres-initdb.log" 2>&1 ||
    { show_log_tail "$RUN/postgres-initdb.log"; rm -rf "${PGDATA_DIR:?}"/*; die "postgres: initdb failed"; }
  # Our settings live in an included file that is rewritten at each start, so a port
  # change in stack.env applies without touching the generated postgresql.conf.
  echo "include_if_exists = 'fedgate.conf'" | as_pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
}

write_conf() {
  # Dev-only durability trade-offs (fsync off etc.): fast, and the data is disposable.
  as_pg tee "$PGDATA_DIR/fedgate.conf" >/dev/null <<EOF
# Written by scripts/infra/postgres.sh at every start; edit there, not here.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
unix_socket_permissions = 0700
max_connections = 100
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_timezone = 'UTC'
timezone = 'UTC'
EOF
}

# The roles (the owner, one per service, the audit maintenance role, OpenFGA's) and the two
# databases: infra/postgres/roles.psql, shared with compose's init. Passwords go in as \set lines
# on stdin, never on a command line (`ps`).
ensure_role_and_dbs() {
  local name pw
  for name in "$PG_USER" "$PG_DATABASE" "$OPENFGA_PG_DATABASE" "$OPENFGA_PG_USER"; do
    [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || die "postgres: unsupported identifier '$name' in stack.env"
  done
  for pw in FEDGATE_PG_PASSWORD OPENFGA_PG_PASSWORD FEDGATE_PG_LOGIN_PASSWORD FEDGATE_PG_TOKEN_PASSWORD FEDGATE_PG_AUTHZ_PASSWORD FEDGATE_PG_AUDIT_PASSWORD FEDGATE_PG_AUDIT_MAINTENANCE_PASSWORD; do
    [[ "${!pw}" =~ ^[A-Za-z0-9]+$ ]] || die "postgres: $pw must be alphanumeric"
  done
  {
    printf '\\set %s %s\n' owner "$PG_USER" owner_pw "$FEDGATE_PG_PASSWORD" owner_attrs CREATEDB db "$PG_DATABASE" \
      openfga "$OPENFGA_PG_USER" openfga_pw "$OPENFGA_PG_PASSWORD" openfga_db "$OPENFGA_PG_DATABASE" \
      login_pw "$FEDGATE_PG_LOGIN_PASSWORD" token_pw "$FEDGATE_PG_TOKEN_PASSWORD" authz_pw "$FEDGATE_PG_AUTHZ_PASSWORD" \
      audit_pw "$FEDGATE_PG_AUDIT_PASSWORD" maintenance_pw "$FEDGATE_PG_AUDIT_MAINTENANCE_PASSWORD"
    cat "$ROOT/infra/postgres/roles.psql"
  } | psql_admin
}

# The cluster of a deleted state dir is not reused: its audit checkpoints are signed with a key
# that went with the state, and it records the bootstrap admin's grant as made, so the new Kafka
# log (the ownership truth) never gets it and the first rebuild, which replays that log, drops
# the admin. CI's failure when it reused the cluster of its previous run: a broken audit chain
# from the start, alice refused from the rebuild test on. Its data is as disposable as the rest
# of the state.
remove_orphan() {
  log "postgres: removing $PGDATA_DIR, the cluster of a deleted state dir (its keys and Kafka log are gone)"
  if is_up; then
    as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA_DIR" -m immediate -w -t 60 stop >/dev/null 2>&1 || die "postgres: cannot stop the leftover cluster in $PGDATA_DIR"
  fi
  rm -rf "${PGDATA_DIR:?}"
  ORPHAN=0
}

cmd_start() {
  local bin t0=$SECONDS
  ensure_secrets
  [ "$ORPHAN" = 0 ] || remove_orphan
  if is_up; then
    log "postgres: already running on 127.0.0.1:$PG_PORT ($PGDATA_DIR)"
    ensure_role_and_dbs
    return 0
  fi
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || cmd_install
  require_free_port postgres "$PG_PORT"
  [ -f "$PGDATA_DIR/PG_VERSION" ] || init_cluster
  if [ -n "$PG_BASE" ] && [ ! -e "$DATA/postgres" ]; then ln -sfn "$PGDATA_DIR" "$DATA/postgres"; fi
  bin=$(pg_bin)
  mkdir -p "$PG_SOCK"
  chown_pg "$PG_SOCK"
  chmod 700 "$PG_SOCK"
  write_conf
  # Root opens the log (postgres may not be able to reach $RUN); the server inherits the fd.
  [ -f "$PG_LOG" ] && mv -f "$PG_LOG" "$PG_LOG.1"
  log "postgres: starting on 127.0.0.1:$PG_PORT (data $PGDATA_DIR, log $PG_LOG)"
  # pg_ctl daemonizes the postmaster in its own session; -w waits for it to accept connections.
  if ! as_pg "$bin/pg_ctl" -D "$PGDATA_DIR" -w -t 60 start </dev/null >>"$PG_LOG" 2>&1; then
    show_log_tail "$PG_LOG"
    die "postgres: failed to start"
  fi
  wait_for as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 30 ||
    { show_log_tail "$PG_LOG"; die "postgres: not ready after 30 s"; }
  ensure_role_and_dbs
  log "postgres: up in $((SECONDS - t0)) s — postgresql://$PG_USER:<FEDGATE_PG_PASSWORD>@127.0.0.1:$PG_PORT/$PG_DATABASE"
}

cmd_stop() {
  if ! is_up; then
    log "postgres: not running"
    return 0
  fi
  log "postgres: stopping"
  as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >>"$PG_LOG" 2>&1 ||
    { show_log_tail "$PG_LOG"; die "postgres: pg_ctl stop failed"; }
  log "postgres: stopped"
}

cmd_status() {
  if is_up && as_pg "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    log "postgres: running on 127.0.0.1:$PG_PORT (data $PGDATA_DIR)"
    return 0
  fi
  log "postgres: not running"
  return 1
}

PG_SUPER=$PG_OS_USER
resolve_paths
dispatch "${1:-}"
