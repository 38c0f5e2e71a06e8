#!/usr/bin/env bash
# Keycloak 26 as a real, standards-only OIDC identity provider for Fedgate: the test suite's
# second IdP and the README's "Use your own identity provider" recipe. Not started by
# `npm run stack` (which starts the dev IdP unless --idp names another issuer).
#   keycloak.sh install   the distribution zip (org.keycloak:keycloak-quarkus-dist) from Maven
#                         Central into $CACHE/keycloak-$KEYCLOAK_VERSION, built once for an
#                         in-memory database (shared by all checkouts)
#   keycloak.sh start     start it over HTTPS on 127.0.0.1:$KEYCLOAK_PORT with a CA of its own
#                         ($STATE/keycloak/tls/ca.pem: stands for a company CA), create the realm
#                         of infra/keycloak/fedgate-realm.json and the users alice, bob and carol
#                         (the dev IdP's passwords from secrets.env); writes $STATE/keycloak/idp.env
#   keycloak.sh stop | status
# A JDK 21+ is needed (KEYCLOAK_JAVA_HOME, JAVA_HOME, or the newest under /usr/lib/jvm).
# The database is dev-mem: every start is a fresh realm (nothing to migrate, nothing left over).
set -euo pipefail
# shellcheck source=scripts/infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_secrets

KC_HOME=$CACHE/keycloak-$KEYCLOAK_VERSION
MARKER=$KC_HOME/.installed
PIDFILE=$RUN/keycloak.pid
KLOG=$RUN/keycloak.log
KC_STATE=$STATE/keycloak
KC_TLS=$KC_STATE/tls
ISSUER="https://127.0.0.1:$KEYCLOAK_PORT/realms/$KEYCLOAK_REALM"
ADMIN_USER=admin
# the pid file names kc.sh, which runs java as its child (both in one process group)
MATCH=$KC_HOME/bin/kc.sh

# java_major JAVA — the feature release of a java binary (17, 21, 25 ...), or nothing.
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}

# The JDK to run Keycloak with: Keycloak 26 needs 21 or later (Kafka is fine with the system's 17).
find_java_home() {
  local candidate major best="" best_major=0
  for candidate in "${KEYCLOAK_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    major=$(java_major "$candidate/bin/java")
    [ -n "$major" ] || continue
    if [ -n "${KEYCLOAK_JAVA_HOME:-}" ] && [ "$candidate" = "$KEYCLOAK_JAVA_HOME" ]; then
      [ "$major" -ge 21 ] || die "keycloak: KEYCLOAK_JAVA_HOME=$KEYCLOAK_JAVA_HOME is Java $major; Keycloak $KEYCLOAK_VERSION needs 21+"
      echo "$candidate"
      return 0
    fi
    if [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then best=$candidate best_major=$major; fi
  done
  [ -n "$best" ] || die "keycloak: no JDK 21+ found (looked at JAVA_HOME and /usr/lib/jvm/*); install one (e.g. Temurin 21 or 25) or set KEYCLOAK_JAVA_HOME"
  echo "$best"
}

cmd_install() {
  local t0=$SECONDS tmp java_home
  java_home=$(find_java_home)
  (
    exec 9>"$CACHE/keycloak-$KEYCLOAK_VERSION.lock"
    flock 9
    if [ -f "$MARKER" ]; then
      log "keycloak: $KEYCLOAK_VERSION already installed in $KC_HOME"
      exit 0
    fi
    command -v mvn >/dev/null || die "keycloak: mvn not found (apt-get install -y maven)"
    command -v unzip >/dev/null || die "keycloak: unzip not found (apt-get install -y unzip)"
    rm -rf "$KC_HOME"
    tmp=$(mktemp -d "$CACHE/.keycloak.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    log "keycloak: fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip from Maven Central (first time only, about 160 MB)"
    # Maven verifies the checksum Central publishes beside the zip
    (cd "$tmp" && mvn -B -q -Dstyle.color=never -C org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      "-Dartifact=org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" -DoutputDirectory="$tmp") >"$tmp/mvn.log" 2>&1 ||
      { show_log_tail "$tmp/mvn.log"; die "keycloak: download from Maven Central failed"; }
    unzip -q "$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" -d "$tmp/unpacked"
    mv "$tmp/unpacked/keycloak-$KEYCLOAK_VERSION" "$KC_HOME"
    # Quarkus' build step, once: later starts use --optimized and skip it (about a minute here)
    log "keycloak: building the server for an in-memory database (first time only)"
    JAVA_HOME=$java_home "$KC_HOME/bin/kc.sh" build --db=dev-mem >"$tmp/build.log" 2>&1 ||
      { show_log_tail "$tmp/build.log"; rm -rf "$KC_HOME"; die "keycloak: kc.sh build failed"; }
    date -u +%FT%TZ >"$MARKER"
    log "keycloak: installed in $KC_HOME in $((SECONDS - t0)) s"
  )
}

# admin_token — a master-realm admin access token (password grant of admin-cli).
admin_token() {
  curl -fsS --cacert "$KC_TLS/ca.pem" "https://127.0.0.1:$KEYCLOAK_PORT/realms/master/protocol/openid-connect/token" \
    --data-urlencode grant_type=password --data-urlencode client_id=admin-cli \
    --data-urlencode "username=$ADMIN_USER" --data-urlencode "password=$FEDGATE_KEYCLOAK_ADMIN_PASSWORD" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).access_token))'
}

# admin_post PATH JSON — POST to the admin REST API; fails on an error answer.
admin_post() {
  curl -fsS --cacert "$KC_TLS/ca.pem" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -X POST --data-binary "$2" "https://127.0.0.1:$KEYCLOAK_PORT/admin$1" >/dev/null
}

create_realm() {
  local user password
  TOKEN=$(admin_token)
  [ -n "$TOKEN" ] || die "keycloak: no admin token"
  # the realm file names the audience the services expect: keep it in step with stack.env
  admin_post /realms "$(AUDIENCE=$IDP_API_AUDIENCE node -e '
    const realm = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    for (const client of realm.clients) for (const m of client.protocolMappers ?? [])
      if (m.protocolMapper === "oidc-audience-mapper") m.config["included.custom.audience"] = process.env.AUDIENCE;
    console.log(JSON.stringify(realm));' "$ROOT/infra/keycloak/fedgate-realm.json")" ||
    die "keycloak: creating realm $KEYCLOAK_REALM failed"
  for user in alice bob carol; do
    password=FEDGATE_IDP_${user^^}_PASSWORD
    admin_post "/realms/$KEYCLOAK_REALM/users" "$(U=$user P=${!password} node -e '
      const u = process.env.U, name = u[0].toUpperCase() + u.slice(1);
      console.log(JSON.stringify({ username: u, email: `${u}@example.test`, emailVerified: true, enabled: true, firstName: name, lastName: "Example",
        credentials: [{ type: "password", value: process.env.P, temporary: false }] }));')" ||
      die "keycloak: creating user $user failed"
  done
}

# idp.env: the settings that point a Fedgate stack at this Keycloak (npm run stack -- --idp-env-file ...)
write_idp_env() {
  umask 077
  cat >"$KC_STATE/idp.env" <<ENV
# written by scripts/infra/keycloak.sh start: Fedgate's settings for this Keycloak
FEDGATE_IDP_ISSUER=$ISSUER
FEDGATE_IDP_CLIENT_ID=$KEYCLOAK_CLIENT_ID
FEDGATE_IDP_AUDIENCE=$IDP_API_AUDIENCE
FEDGATE_IDP_CA_FILE=$KC_TLS/ca.pem
FEDGATE_IDP_ADMIN=alice
FEDGATE_IDP_DEV_USERS=true
ENV
}

cmd_start() {
  local t0=$SECONDS rc=0 java_home
  if is_running "$PIDFILE" "$MATCH"; then
    log "keycloak: already running (pid $(pid_of "$PIDFILE")) at $ISSUER"
    return 0
  fi
  cmd_install
  java_home=$(find_java_home)
  require_free_port keycloak "$KEYCLOAK_PORT"
  mkdir -p "$KC_STATE"
  FEDGATE_TLS_DIR=$KC_TLS bash "$ROOT/scripts/infra/tls.sh" ensure 2>/dev/null
  log "keycloak: starting $KEYCLOAK_VERSION with $("$java_home/bin/java" -version 2>&1 | head -1) (log $KLOG)"
  # a bounded heap, and the C1 compiler only: it starts faster on a small machine and
  # needs no more than that for a test realm
  JAVA_HOME=$java_home \
  JAVA_OPTS_KC_HEAP="-Xms64m -Xmx$KEYCLOAK_MAX_HEAP -XX:TieredStopAtLevel=1" \
  KC_BOOTSTRAP_ADMIN_USERNAME=$ADMIN_USER KC_BOOTSTRAP_ADMIN_PASSWORD=$FEDGATE_KEYCLOAK_ADMIN_PASSWORD \
    spawn "$PIDFILE" "$KLOG" "$KC_HOME/bin/kc.sh" start --optimized \
      --http-enabled=false --https-port="$KEYCLOAK_PORT" --http-host=127.0.0.1 --hostname-strict=false \
      --https-certificate-file="$KC_TLS/server.pem" --https-certificate-key-file="$KC_TLS/server-key.pem"
  WAIT_PIDFILE=$PIDFILE wait_for curl -fsS --cacert "$KC_TLS/ca.pem" "https://127.0.0.1:$KEYCLOAK_PORT/realms/master/.well-known/openid-configuration" 300 || rc=$?
  if [ "$rc" != 0 ]; then
    show_log_tail "$KLOG"
    stop_pidfile "$PIDFILE" "$MATCH"
    die "keycloak: did not start"
  fi
  create_realm
  write_idp_env
  log "keycloak: up in $((SECONDS - t0)) s at $ISSUER (client $KEYCLOAK_CLIENT_ID; users alice, bob, carol; CA $KC_TLS/ca.pem)"
}

cmd_stop() { stop_pidfile "$PIDFILE" "$MATCH"; }
cmd_status() { is_running "$PIDFILE" "$MATCH"; }

dispatch "${1:-}"
