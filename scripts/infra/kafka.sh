#!/usr/bin/env bash
# Local single-node KRaft Kafka for Fedgate, run from jars resolved via Maven Central.
#   kafka.sh install   jars into $CACHE/kafka-$KAFKA_VERSION/libs (once, shared by all checkouts)
#   kafka.sh start     render config, format storage once, start the broker, wait until ready,
#                      then create the SCRAM users and apply the ACLs (users, acls)
#   kafka.sh users     create each principal's SCRAM credential, or change it to the password in
#                      .fedgate/secrets.env (a rotation); skipped when nothing changed
#   kafka.sh acls      make the services' ACLs those of the topic catalogue (libs/contracts)
#   kafka.sh stop      stop the broker's process group
#   kafka.sh status    exit 0 if running
set -euo pipefail
# shellcheck source=scripts/infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
LIBS=$KAFKA_HOME/libs
MARKER=$KAFKA_HOME/.installed
PIDFILE=$RUN/kafka.pid
KLOG=$RUN/kafka.log
PROPS=$RUN/kafka-server.properties
LOGDIR=$DATA/kafka
MAIN_CLASS=kafka.Kafka
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

# jar_has CLASS — some jar in LIBS contains exactly that class file.
jar_has() {
  local entry=${1//.//}.class j
  for j in "$LIBS"/*.jar; do
    # no grep -q: with pipefail an early grep exit would SIGPIPE the lister and read as failure
    if list_jar "$j" | grep -xF "$entry" >/dev/null; then return 0; fi
  done
  return 1
}

list_jar() {
  if command -v unzip >/dev/null; then unzip -Z1 "$1"; else jar tf "$1"; fi
}

# The storage formatter moved packages between Kafka releases (kafka.tools.StorageTool in
# 3.x-4.2); pick whichever the jars contain.
storage_tool() {
  local c
  for c in kafka.tools.StorageTool org.apache.kafka.tools.StorageTool; do
    jar_has "$c" && { echo "$c"; return 0; }
  done
  die "kafka: no StorageTool class in $LIBS"
}

cmd_install() {
  local t0=$SECONDS tmp
  command -v "$JAVA" >/dev/null || die "kafka: java not found (Java 17+ required)"
  mkdir -p "$CACHE"
  (
    # Two checkouts installing at once must not interleave in the same directory.
    exec 9>"$CACHE/kafka-$KAFKA_VERSION.lock"
    flock 9
    if [ -f "$MARKER" ]; then
      # Keep the logging config in sync with the repo even when the jars are cached.
      cmp -s "$ROOT/infra/kafka/log4j2.properties" "$KAFKA_HOME/log4j2.properties" ||
        cp "$ROOT/infra/kafka/log4j2.properties" "$KAFKA_HOME/log4j2.properties"
      log "kafka: $KAFKA_VERSION already installed in $KAFKA_HOME"
      exit 0
    fi
    command -v mvn >/dev/null || die "kafka: mvn not found (apt-get install -y maven)"
    # No marker = never finished (or interrupted): start from scratch.
    rm -rf "$KAFKA_HOME"
    mkdir -p "$KAFKA_HOME"
    # Run Maven on a copy of the pom so nothing (target/, ...) is written into the repo.
    tmp=$(mktemp -d "$CACHE/.kafka-mvn.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    cp "$ROOT/infra/kafka/pom.xml" "$tmp/pom.xml"
    log "kafka: resolving Kafka $KAFKA_VERSION broker jars from Maven Central (first time only)"
    # Output to a file: Maven 3.8 prints stray ANSI codes even with -B -q.
    (cd "$tmp" && mvn -B -q -Dstyle.color=never -f pom.xml -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS") >"$tmp/mvn.log" 2>&1 ||
      { show_log_tail "$tmp/mvn.log"; die "kafka: mvn dependency:copy-dependencies failed"; }
    ls "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null 2>&1 || die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after download"
    jar_has "$MAIN_CLASS" || die "kafka: $MAIN_CLASS not found in $LIBS"
    storage_tool >/dev/null
    cp "$ROOT/infra/kafka/log4j2.properties" "$KAFKA_HOME/log4j2.properties"
    date -u +%FT%TZ >"$MARKER"
    log "kafka: installed $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $((SECONDS - t0)) s"
  )
}

java_opts() {
  # Small heap for a dev box; Kafka's own launcher defaults to 1 GiB.
  printf '%s\n' -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$KAFKA_HOME/log4j2.properties" "-Dkafka.logs.dir=$RUN"
}

render_config() {
  mkdir -p "$LOGDIR"
  # mode 600: it holds the broker's password
  (umask 077 && sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
    -e "s#@KAFKA_CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
    -e "s#@LOG_DIRS@#$LOGDIR#g" \
    -e "s#@FEDGATE_KAFKA_BROKER_PASSWORD@#$FEDGATE_KAFKA_BROKER_PASSWORD#g" \
    "$ROOT/infra/kafka/server.properties" >"$PROPS")
  ! grep -q '@[A-Z_]*@' "$PROPS" || die "kafka: unrendered placeholder in $PROPS"
}

# The principals and their password variables, from the catalogue in libs/contracts.
scram_users() {
  [ -f "$ROOT/dist/libs/contracts/src/index.js" ] || die "kafka: dist/ is missing (scripts/build.sh)"
  node "$ROOT/scripts/infra/kafka-security.mjs" users
}

# One line per SCRAM user: its name and a hash of name and current password. Kept next to the
# data as the credentials applied, so a start or `users` sets only what changed.
scram_state() {
  local user var
  scram_users | while read -r user var; do
    printf '%s %s\n' "$user" "$(printf '%s=%s' "$user" "${!var:?$var missing from secrets.env}" | sha256sum | cut -c1-64)"
  done
}

# client_config FILE USER — Kafka client settings authenticating as USER (SCRAM), for Kafka's tools.
client_config() {
  local var
  var=$(scram_users | awk -v u="$2" '$1 == u { print $2 }')
  printf '%s\n' 'security.protocol=SASL_PLAINTEXT' 'sasl.mechanism=SCRAM-SHA-512' \
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$2\" password=\"${!var}\";" >"$1"
}

# Sets each SCRAM credential whose password in secrets.env is not the one applied (a new user, a
# rotation) with Kafka's own ConfigCommand, through the client listener: as fedgate-broker for
# the others, as the operator for fedgate-broker. Passwords go through mode-600 files, never a
# command line. Nothing to do at a usual start.
cmd_users() {
  local user var state changed tmp as
  ensure_secrets
  state=$(scram_state)
  changed=$(grep -vxF -f "$LOGDIR/.scram-users" <<<"$state" | cut -d' ' -f1 || true)
  [ -n "$changed" ] || return 0
  tmp=$(umask 077 && mktemp -d "$RUN/.kafka-users.XXXXXX")
  client_config "$tmp/fedgate-broker.properties" fedgate-broker
  client_config "$tmp/fedgate-operator.properties" fedgate-operator
  while read -r user var; do
    grep -qxF "$user" <<<"$changed" || continue
    printf 'SCRAM-SHA-512=iterations=8192,password=%s\n' "${!var}" >"$tmp/scram.properties"
    as=fedgate-broker
    [ "$user" != fedgate-broker ] || as=fedgate-operator
    "$JAVA" -Xmx128m "-Dlog4j2.configurationFile=$KAFKA_HOME/log4j2.properties" -cp "$LIBS/*" kafka.admin.ConfigCommand \
      --bootstrap-server "127.0.0.1:$KAFKA_PORT" --command-config "$tmp/$as.properties" \
      --alter --add-config-file "$tmp/scram.properties" --entity-type users --entity-name "$user" >"$tmp/config.log" 2>&1 ||
      { grep -v -e password -e '^\s' "$tmp/config.log" | tail -5 >&2; rm -rf "$tmp"; die "kafka: could not set the SCRAM credential of $user"; }
  done < <(scram_users)
  rm -rf "$tmp"
  printf '%s\n' "$state" >"$LOGDIR/.scram-users"
  log "kafka: SCRAM credentials set for $(paste -sd, <<<"$changed")"
}

cmd_acls() {
  ensure_secrets
  FEDGATE_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" node "$ROOT/scripts/infra/kafka-security.mjs" acls
}

# SCRAM users can only be bootstrapped into a new cluster; one formatted before Kafka
# authentication has none, so no client could ever authenticate: the local data must go.
require_scram_users() {
  [ -f "$LOGDIR/.scram-users" ] ||
    die "kafka: $LOGDIR was formatted before Kafka authentication (no SCRAM users); run \`npm run stack:down\`, delete $DATA (the local stack's data) and $STATE/audit (the audit log's signed checkpoints, which would otherwise prove the new, empty log a truncation) and start again"
}

format_storage() {
  local existing opts user var args
  if [ -f "$LOGDIR/meta.properties" ]; then
    existing=$(sed -n 's/^cluster.id=//p' "$LOGDIR/meta.properties")
    [ "$existing" = "$KAFKA_CLUSTER_ID" ] ||
      die "kafka: $LOGDIR belongs to cluster $existing, stack.env says $KAFKA_CLUSTER_ID (delete $LOGDIR to reset)"
    require_scram_users
    return 0
  fi
  mapfile -t opts < <(java_opts)
  log "kafka: formatting storage in $LOGDIR (cluster id $KAFKA_CLUSTER_ID) with the SCRAM users"
  # the users' credentials are bootstrapped into the new cluster's metadata; the arguments go
  # through a mode-600 argument file (java @file), so no password is on a command line
  args=$(umask 077 && mktemp "$RUN/.kafka-format.XXXXXX")
  {
    printf '%s\n' "${opts[@]}" -cp "\"$LIBS/*\"" "$(storage_tool)" format -t "$KAFKA_CLUSTER_ID" -c "\"$PROPS\"" --ignore-formatted
    while read -r user var; do printf -- '--add-scram\n"SCRAM-SHA-512=[name=%s,iterations=8192,password=%s]"\n' "$user" "${!var:?$var missing from secrets.env}"; done < <(scram_users)
  } >"$args"
  # (its log lists the credentials' salts and keys: mode 600 too)
  (umask 077 && "$JAVA" "@$args" >"$RUN/kafka-format.log" 2>&1) ||
    { rm -f "$args"; show_log_tail "$RUN/kafka-format.log"; die "kafka: storage format failed"; }
  rm -f "$args"
  scram_state >"$LOGDIR/.scram-users"
}

ready() {
  port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$KLOG"
}

cmd_start() {
  local t0=$SECONDS opts rc=0
  ensure_secrets
  if is_running "$PIDFILE" "$MAIN_CLASS"; then
    # (a broker started before Kafka authentication would refuse every service)
    [ ! -f "$LOGDIR/meta.properties" ] || require_scram_users
    log "kafka: already running (pid $(pid_of "$PIDFILE")) on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  rm -f "$PIDFILE"
  cmd_install
  require_free_port kafka "$KAFKA_PORT"
  require_free_port kafka-controller "$KAFKA_CONTROLLER_PORT"
  render_config
  format_storage
  mapfile -t opts < <(java_opts)
  log "kafka: starting on 127.0.0.1:$KAFKA_PORT (log $KLOG)"
  # background work: see BACKGROUND_NICE in infra/stack.env
  SPAWN_NICE=${BACKGROUND_NICE:-0} spawn "$PIDFILE" "$KLOG" "$JAVA" "${opts[@]}" -cp "$LIBS/*" "$MAIN_CLASS" "$PROPS"
  WAIT_PIDFILE=$PIDFILE wait_for ready 120 || rc=$?
  if [ "$rc" != 0 ]; then
    show_log_tail "$KLOG"
    [ "$rc" = 2 ] && { rm -f "$PIDFILE"; die "kafka: broker exited during startup"; }
    stop_pidfile "$PIDFILE" "$MAIN_CLASS"
    die "kafka: not ready after 120 s"
  fi
  cmd_users
  cmd_acls
  log "kafka: up in $((SECONDS - t0)) s — bootstrap 127.0.0.1:$KAFKA_PORT (pid $(pid_of "$PIDFILE"))"
}

cmd_stop() {
  if ! is_running "$PIDFILE" "$MAIN_CLASS"; then
    rm -f "$PIDFILE"
    log "kafka: not running"
    return 0
  fi
  log "kafka: stopping (pid $(pid_of "$PIDFILE"))"
  stop_pidfile "$PIDFILE" "$MAIN_CLASS"
  log "kafka: stopped"
}

cmd_status() {
  if is_running "$PIDFILE" "$MAIN_CLASS" && port_open "$KAFKA_PORT"; then
    log "kafka: running (pid $(pid_of "$PIDFILE")) on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  log "kafka: not running"
  return 1
}

dispatch "${1:-}"
