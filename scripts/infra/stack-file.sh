#!/usr/bin/env bash
# Writes .fedgate/stack.json (shape in shared API.md): where every part of the running
# local stack is, so the CLI and the tests find everything. Mode 600: it holds dev secrets.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_secrets
. "$(dirname "${BASH_SOURCE[0]}")/service-env.sh"

[ "${1:-}" = write ] || die "usage: $0 write"

# The OpenFGA store named "fedgate": found, or created on first start.
ensure_openfga_store() {
  local auth=(-H "Authorization: Bearer $OPENFGA_PRESHARED_KEY" -H 'Content-Type: application/json')
  local id
  id=$(curl -fsS "${auth[@]}" "$FEDGATE_OPENFGA_URL/stores?page_size=100" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const f=JSON.parse(s).stores.find(x=>x.name==="fedgate");if(f)console.log(f.id)})')
  if [ -z "$id" ]; then
    id=$(curl -fsS "${auth[@]}" -X POST -d '{"name":"fedgate"}' "$FEDGATE_OPENFGA_URL/stores" |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')
  fi
  [ -n "$id" ] || die "could not find or create the OpenFGA store"
  echo "$id"
}

umask 077
FEDGATE_OPENFGA_STORE_ID=$(ensure_openfga_store) \
FEDGATE_IDP_USERS=$(if [ "$IDP_KIND" = dev ] || [ "${FEDGATE_IDP_DEV_USERS:-}" = true ]; then dev_idp_users_json; else echo '[]'; fi) \
IDP_KIND=$IDP_KIND \
LOGIN_URL=$(service_url "$LOGIN_PORT") TOKEN_URL=$(service_url "$TOKEN_PORT") \
AUTHZ_URL=$(service_url "$AUTHZ_PORT") AUDIT_URL=$(service_url "$AUDIT_PORT") \
node -e '
const e = process.env;
const stack = {
  services: { login: e.LOGIN_URL, token: e.TOKEN_URL, authz: e.AUTHZ_URL, audit: e.AUDIT_URL },
  ca_cert: e.NODE_EXTRA_CA_CERTS,
  api_key: e.FEDGATE_API_KEY,
  admin_api_key: e.FEDGATE_ADMIN_API_KEY,
  other_service: { service_name: e.FEDGATE_OTHER_SERVICE_NAME, api_key: e.FEDGATE_OTHER_API_KEY },
  idp: { issuer: e.FEDGATE_OIDC_ISSUER, client_id: e.FEDGATE_OIDC_CLIENT_ID, audience: e.FEDGATE_OIDC_AUDIENCE,
         ca_file: e.FEDGATE_OIDC_CA_FILE || undefined, kind: e.IDP_KIND,
         users: JSON.parse(e.FEDGATE_IDP_USERS).map(({ username, password }) => ({ username, password })) },
  kafka: { brokers: e.FEDGATE_KAFKA_BROKERS.split(","),
           sasl: { mechanism: e.FEDGATE_KAFKA_SASL_MECHANISM, username: "fedgate-operator", password: e.FEDGATE_KAFKA_OPERATOR_PASSWORD } },
  openfga: { url: e.FEDGATE_OPENFGA_URL, store_id: e.FEDGATE_OPENFGA_STORE_ID, api_key: e.FEDGATE_OPENFGA_API_KEY },
  postgres: { url: e.FEDGATE_DATABASE_URL },
  service_name: e.FEDGATE_SERVICE_NAME,
  admin_flwr_aid: e.FEDGATE_ADMIN_FLWR_AID || undefined,
  admin_login: e.FEDGATE_ADMIN_LOGIN || undefined,
};
require("node:fs").writeFileSync(process.argv[1], JSON.stringify(stack, null, 2) + "\n", { mode: 0o600 });
' "$STATE/stack.json"
