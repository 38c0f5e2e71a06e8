# shellcheck shell=bash
# Source after lib.sh + ensure_secrets: the environment every Fedgate process of the local
# stack gets (docker-compose.yml sets the same FEDGATE_* variables for its containers).
# The dev IdP's settings below give way to your own IdP's when `npm run stack -- --idp ...`
# chose one (use_own_idp, at the end); FEDGATE_IDP_SETTINGS_FILE names another settings file.
TLS_DIR=$STATE/tls
export NODE_EXTRA_CA_CERTS=$TLS_DIR/ca.pem
export FEDGATE_TLS_CERT=$TLS_DIR/server.pem
export FEDGATE_TLS_KEY=$TLS_DIR/server-key.pem
# Fedgate's database as the owner role: migrations (prisma.config.ts) and the tests that read or
# set up tables directly. No service runs with it: services.sh gives each its own role's URL.
export FEDGATE_DATABASE_URL="postgresql://$PG_USER:$FEDGATE_PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
# each service's own role (services.sh passes it as that service's FEDGATE_DATABASE_URL)
export FEDGATE_LOGIN_DATABASE_URL="postgresql://fedgate_login:$FEDGATE_PG_LOGIN_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
export FEDGATE_TOKEN_DATABASE_URL="postgresql://fedgate_token:$FEDGATE_PG_TOKEN_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
export FEDGATE_AUTHZ_DATABASE_URL="postgresql://fedgate_authz:$FEDGATE_PG_AUTHZ_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
export FEDGATE_AUDIT_DATABASE_URL="postgresql://fedgate_audit:$FEDGATE_PG_AUDIT_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
# the only role the audit tables' trigger lets UPDATE, DELETE or TRUNCATE audit rows (deliberate
# maintenance; the tamper tests act as it); no service has it
export FEDGATE_AUDIT_MAINTENANCE_DATABASE_URL="postgresql://fedgate_audit_maintenance:$FEDGATE_PG_AUDIT_MAINTENANCE_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
export FEDGATE_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
# Kafka principals: each service its own (services.sh sets FEDGATE_KAFKA_USERNAME/PASSWORD per
# service); tools and tests the operator (stack.json's kafka.sasl)
export FEDGATE_KAFKA_SASL_MECHANISM=scram-sha-512
export FEDGATE_OPENFGA_URL="http://127.0.0.1:$OPENFGA_HTTP_PORT"
export FEDGATE_OPENFGA_API_KEY=$OPENFGA_PRESHARED_KEY
export FEDGATE_OIDC_ISSUER="https://127.0.0.1:$IDP_PORT"
export FEDGATE_OIDC_CLIENT_ID=$IDP_CLIENT_ID
export FEDGATE_OIDC_AUDIENCE=$IDP_API_AUDIENCE
# The service keys the services accept, by their hashes (name:sha256:roles:services, see
# libs/service-config): the SuperLink's (role superlink, its own service only), the operator's
# (authz-admin + audit-reader: rebuild, membership recovery, audit reads), and a second
# SuperLink service's own key, which the tests use to prove that a key stays in its service.
export FEDGATE_API_KEYS="$FEDGATE_SERVICE_NAME:$FEDGATE_API_KEY_SHA256:superlink:$FEDGATE_SERVICE_NAME,operator:$FEDGATE_ADMIN_API_KEY_SHA256:authz-admin+audit-reader:$FEDGATE_SERVICE_NAME,$FEDGATE_OTHER_SERVICE_NAME:$FEDGATE_OTHER_API_KEY_SHA256:superlink:$FEDGATE_OTHER_SERVICE_NAME"
# the audit service's own checkpoint-signing key (created at its first start)
export FEDGATE_AUDIT_SIGNING_KEY_FILE=$STATE/audit/checkpoint-signing-key.pem
# authz-service: the SuperLink's `service:<name>` and its bootstrap admin (from stack.env)
export FEDGATE_SERVICE_NAME=$FEDGATE_SERVICE_NAME
export FEDGATE_ADMIN_FLWR_AID=$FEDGATE_ADMIN_FLWR_AID
# how often (pause between runs) and how fast the audit service re-verifies its whole hash chain in the background
export FEDGATE_AUDIT_VERIFY_INTERVAL_MS=300000
export FEDGATE_AUDIT_VERIFY_ROWS_PER_SECOND=2000
# kafka_password_of PRINCIPAL — its password from secrets.env (kafkaPasswordVariable in libs/contracts)
kafka_password_of() { local var; var=FEDGATE_KAFKA_$(printf '%s' "${1#fedgate-}" | tr 'a-z-' 'A-Z_')_PASSWORD; printf '%s' "${!var:?$var missing from secrets.env}"; }
# the services and the stack file name each service by its base URL
service_url() { echo "https://127.0.0.1:$1"; }
# the dev IdP's seeded users (passwords generated per machine into secrets.env)
dev_idp_users_json() {
  printf '[{"username":"alice","password":"%s","name":"Alice Example","email":"alice@example.test"},{"username":"bob","password":"%s","name":"Bob Example","email":"bob@example.test"},{"username":"carol","password":"%s","name":"Carol Example","email":"carol@example.test"}]' \
    "$FEDGATE_IDP_ALICE_PASSWORD" "$FEDGATE_IDP_BOB_PASSWORD" "$FEDGATE_IDP_CAROL_PASSWORD"
}

# Your own identity provider, when $STATE/idp.env holds one (scripts/infra/idp.sh configure):
# its settings replace the dev IdP's, and stack.env's bootstrap admin (a dev IdP account id)
# gives way to --admin (a username or verified email, resolved at its first login) or --admin-sub.
use_own_idp() {
  local settings=${FEDGATE_IDP_SETTINGS_FILE:-$STATE/idp.env}
  unset FEDGATE_OIDC_CLIENT_SECRET FEDGATE_OIDC_SCOPE FEDGATE_OIDC_CA_FILE FEDGATE_OIDC_EXTRA_PARAMS FEDGATE_ADMIN_LOGIN
  IDP_KIND=dev
  [ -f "$settings" ] || return 0
  # shellcheck disable=SC1090
  . "$settings"
  IDP_KIND=external
  export FEDGATE_OIDC_ISSUER=$FEDGATE_IDP_ISSUER
  export FEDGATE_OIDC_CLIENT_ID=$FEDGATE_IDP_CLIENT_ID
  export FEDGATE_OIDC_AUDIENCE=${FEDGATE_IDP_AUDIENCE:-$IDP_API_AUDIENCE}
  [ -z "${FEDGATE_IDP_CLIENT_SECRET:-}" ] || export FEDGATE_OIDC_CLIENT_SECRET=$FEDGATE_IDP_CLIENT_SECRET
  [ -z "${FEDGATE_IDP_SCOPE:-}" ] || export FEDGATE_OIDC_SCOPE=$FEDGATE_IDP_SCOPE
  [ -z "${FEDGATE_IDP_CA_FILE:-}" ] || export FEDGATE_OIDC_CA_FILE=$FEDGATE_IDP_CA_FILE
  [ -z "${FEDGATE_IDP_EXTRA_PARAMS:-}" ] || export FEDGATE_OIDC_EXTRA_PARAMS=$FEDGATE_IDP_EXTRA_PARAMS
  if [ -n "${FEDGATE_IDP_ADMIN_SUB:-}" ]; then export FEDGATE_ADMIN_FLWR_AID=$FEDGATE_IDP_ADMIN_SUB; else unset FEDGATE_ADMIN_FLWR_AID; fi
  [ -z "${FEDGATE_IDP_ADMIN:-}" ] || export FEDGATE_ADMIN_LOGIN=$FEDGATE_IDP_ADMIN
}
use_own_idp
