# shellcheck shell=bash
# Shared helpers for scripts/infra/*.sh. Source it, do not execute it.
#
# Layout:
#   ROOT   repo root
#   STATE  ${FEDGATE_STATE_DIR:-$ROOT/.fedgate}        per-checkout state (git-ignored)
#   RUN    $STATE/run                                   pid files, rendered configs, server logs
#   DATA   $STATE/data                                  server data (postgres, kafka)
#   CACHE  ${FEDGATE_CACHE_DIR:-$XDG_CACHE_HOME/fedgate} downloads/builds shared by all checkouts
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
STATE=${FEDGATE_STATE_DIR:-$ROOT/.fedgate}
CACHE=${FEDGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fedgate}
mkdir -p "$STATE" "$CACHE"
# Absolute paths: pid files and configs must stay valid whatever the caller's cwd.
STATE=$(cd "$STATE" && pwd -P)
CACHE=$(cd "$CACHE" && pwd -P)
RUN=$STATE/run
DATA=$STATE/data
SECRETS_FILE=$STATE/secrets.env
mkdir -p "$RUN" "$DATA"
export ROOT STATE CACHE RUN DATA

log() { printf '[fedgate] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# stack.env is the single source of ports and names; export it so child processes
# (node scripts, docker compose) see the same values.
set -a
# shellcheck disable=SC1091
. "$ROOT/infra/stack.env"
# shellcheck disable=SC1090
[ -f "$SECRETS_FILE" ] && . "$SECRETS_FILE"
set +a

# FEDGATE_PORT_OFFSET moves every port of stack.env by the same amount, so two checkouts
# (say, two developers' worktrees) can run their own stacks side by side.
if [ -n "${FEDGATE_PORT_OFFSET:-}" ] && [ "$FEDGATE_PORT_OFFSET" != 0 ]; then
  [[ "$FEDGATE_PORT_OFFSET" =~ ^[0-9]+$ ]] || { printf '[fedgate] ERROR: FEDGATE_PORT_OFFSET must be a number\n' >&2; exit 1; }
  for _port_var in PG_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT OPENFGA_HTTP_PORT OPENFGA_GRPC_PORT IDP_PORT KEYCLOAK_PORT LOGIN_PORT TOKEN_PORT AUTHZ_PORT AUDIT_PORT SUPERLINK_SERVERAPPIO_PORT SUPERLINK_FLEET_PORT SUPERLINK_CONTROL_PORT SUPERLINK_HEALTH_PORT; do
    export "$_port_var=$(( ${!_port_var} + FEDGATE_PORT_OFFSET ))"
  done
  unset _port_var
fi

# secure_state — the state dir is its owner's only (0700): it holds the stack's secrets (secrets.env,
# stack.json with the keys, the TLS, IdP and audit signing keys, the SuperLink's key file), and
# the ServerApps the SuperLink runs (other users' code, as another uid: superlink.sh) must read
# none of it. PostgreSQL, which runs as its own OS user, keeps its cluster outside (postgres.sh).
secure_state() { chmod 700 "$STATE"; }

# Random hex without depending on openssl being installed.
rand_hex() {
  local bytes=${1:-24}
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex "$bytes"
  else
    od -An -tx1 -N"$bytes" /dev/urandom | tr -d ' \n'
  fi
}

# Create $STATE/secrets.env once; later calls only add keys that are missing, never
# rewrite existing ones (the PG role password and API keys must stay stable).
ensure_secrets() {
  local key
  (
    # flock: parallel starts must not generate two different passwords.
    exec 9>"$STATE/.secrets.lock"
    flock 9
    umask 077
    [ -f "$SECRETS_FILE" ] || : >"$SECRETS_FILE"
    chmod 600 "$SECRETS_FILE"
    # the service keys: the SuperLink's (FEDGATE_API_KEY), the operator's (FEDGATE_ADMIN_API_KEY), and
    # the second SuperLink service's that the tests use to prove keys stay in their service;
    # database roles: the owner (FEDGATE_PG_PASSWORD), each service, the audit maintenance role,
    # OpenFGA, compose's postgres superuser (init only); each service's Kafka principal
    for key in FEDGATE_PG_PASSWORD FEDGATE_PG_LOGIN_PASSWORD FEDGATE_PG_TOKEN_PASSWORD FEDGATE_PG_AUTHZ_PASSWORD FEDGATE_PG_AUDIT_PASSWORD FEDGATE_PG_AUDIT_MAINTENANCE_PASSWORD OPENFGA_PG_PASSWORD FEDGATE_PG_SUPERUSER_PASSWORD OPENFGA_PRESHARED_KEY FEDGATE_API_KEY FEDGATE_ADMIN_API_KEY FEDGATE_OTHER_API_KEY FEDGATE_IDP_ADMIN_KEY FEDGATE_KEYCLOAK_ADMIN_PASSWORD FEDGATE_IDP_ALICE_PASSWORD FEDGATE_IDP_BOB_PASSWORD FEDGATE_IDP_CAROL_PASSWORD FEDGATE_KAFKA_BROKER_PASSWORD FEDGATE_KAFKA_OPERATOR_PASSWORD FEDGATE_KAFKA_LOGIN_SERVICE_PASSWORD FEDGATE_KAFKA_TOKEN_SERVICE_PASSWORD FEDGATE_KAFKA_AUTHZ_SERVICE_PASSWORD FEDGATE_KAFKA_AUDIT_SERVICE_PASSWORD; do
      grep -q "^${key}=" "$SECRETS_FILE" || printf '%s=%s\n' "$key" "$(rand_hex 24)" >>"$SECRETS_FILE"
    done
    # services are configured with each key's hash (FEDGATE_API_KEYS), never the key itself
    for key in FEDGATE_API_KEY FEDGATE_ADMIN_API_KEY FEDGATE_OTHER_API_KEY; do
      grep -q "^${key}_SHA256=" "$SECRETS_FILE" ||
        printf '%s_SHA256=%s\n' "$key" "$(grep "^${key}=" "$SECRETS_FILE" | cut -d= -f2- | tr -d '\n' | sha256sum | cut -c1-64)" >>"$SECRETS_FILE"
    done
  )
  set -a
  # shellcheck disable=SC1090
  . "$SECRETS_FILE"
  set +a
}

# wait_for CMD... TIMEOUT_SECONDS — retry CMD every 0.5 s until it succeeds.
# Returns 1 on timeout; if WAIT_PIDFILE is set (e.g. `WAIT_PIDFILE=x wait_for ...`),
# returns 2 as soon as that process has died, so a crashed server fails fast.
wait_for() {
  [ $# -ge 2 ] || die "usage: wait_for CMD... TIMEOUT"
  local timeout=${*: -1}
  local cmd=("${@:1:$#-1}")
  local deadline=$((SECONDS + timeout))
  until "${cmd[@]}" >/dev/null 2>&1; do
    if [ -n "${WAIT_PIDFILE:-}" ] && ! is_running "$WAIT_PIDFILE"; then return 2; fi
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# pid_of PIDFILE — prints the pid if the file holds a number.
pid_of() {
  local pid
  [ -f "$1" ] || return 1
  read -r pid <"$1" || true
  # >1: never let a corrupt pid file turn into `kill -- -1` (every process).
  [[ "${pid:-}" =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] || return 1
  printf '%s\n' "$pid"
}

# is_running PIDFILE [CMDLINE_SUBSTRING] — the process is alive (and, when given,
# its command line contains the substring: guards against a recycled pid after reboot).
is_running() {
  local pid
  pid=$(pid_of "$1") || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "${2:-}" ]; then
    local cmdline
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ "$cmdline" == *"$2"* ]] || return 1
  fi
}

# stop_pidfile PIDFILE [CMDLINE_SUBSTRING] — TERM the process group, wait up to 20 s,
# then KILL; remove the pid file. Our servers are started with setsid, so pid == pgid
# and the group holds every helper they spawned.
stop_pidfile() {
  local pidfile=$1 match=${2:-} pid pgid target i
  if ! pid=$(pid_of "$pidfile"); then
    rm -f "$pidfile"
    return 0
  fi
  if ! is_running "$pidfile" "$match"; then
    log "stale pid file $pidfile (pid $pid is gone or is not ${match:-the process}); removing"
    rm -f "$pidfile"
    return 0
  fi
  pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)
  # Only signal the whole group when the process leads it; never hit the caller's group.
  if [ "$pgid" = "$pid" ]; then target=-$pid; else target=$pid; fi
  kill -TERM -- "$target" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do
    kill -0 -- "$target" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 -- "$target" 2>/dev/null; then
    log "pid $pid still alive after 20 s; sending KILL"
    kill -KILL -- "$target" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      kill -0 -- "$target" 2>/dev/null || break
      sleep 0.25
    done
  fi
  rm -f "$pidfile"
}

# spawn PIDFILE LOGFILE CMD... — start CMD detached in its own session/process group,
# stdin from /dev/null, stdout+stderr to LOGFILE (previous log kept as LOGFILE.1 so
# readiness greps never match an old run). The child writes its own pid before exec,
# which stays correct even if setsid has to fork.
# With SPAWN_NICE=N in its environment the process runs at nice N: its own new session is its
# own autogroup, where the kernel has one (then a process's nice only ranks it among its own
# session's, so the group's nice is set too), and nice(1) covers kernels without.
spawn() {
  local pidfile=$1 logfile=$2 i
  shift 2
  rm -f "$pidfile"
  [ -f "$logfile" ] && mv -f "$logfile" "$logfile.1"
  # shellcheck disable=SC2016 # expanded by the child shell on purpose
  SPAWN_NICE=${SPAWN_NICE:-0} setsid bash -c 'echo $$ >"$0"
    [ "$SPAWN_NICE" = 0 ] || { [ ! -w /proc/self/autogroup ] || echo "$SPAWN_NICE" >/proc/self/autogroup; set -- nice -n "$SPAWN_NICE" "$@"; }
    unset SPAWN_NICE
    exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 &
  for ((i = 0; i < 50; i++)); do
    [ -s "$pidfile" ] && return 0
    sleep 0.1
  done
  die "process did not start (no pid file $pidfile); see $logfile"
}

# port_open PORT [HOST] — something accepts TCP connections there.
port_open() {
  # shellcheck disable=SC2016 # expanded by the child shell on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${2:-127.0.0.1}" "$1" 2>/dev/null
}

# require_free_port NAME PORT — fail early with a clear message instead of a bind error in a log.
require_free_port() {
  if port_open "$2"; then
    die "$1 port $2 on 127.0.0.1 is already in use by another process (see 'ss -ltnp'); change it in infra/stack.env"
  fi
}

# show_log_tail LOGFILE — print the end of a server log when startup fails.
show_log_tail() {
  [ -f "$1" ] || return 0
  log "last lines of $1:"
  tail -n 40 "$1" >&2 || true
}

# dispatch VERB — runs the calling script's cmd_VERB function (install, start, stop,
# status, ...); anything else prints the verbs the script has and exits 2.
dispatch() {
  local verb=${1:-}
  if [[ "$verb" =~ ^[a-z-]+$ ]] && declare -F "cmd_$verb" >/dev/null; then
    "cmd_$verb"
  else
    echo "usage: $0 {$(declare -F | awk '$3 ~ /^cmd_/ { sub("^cmd_", "", $3); print $3 }' | paste -sd'|')}" >&2
    exit 2
  fi
}
