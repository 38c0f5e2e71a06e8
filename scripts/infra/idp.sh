#!/usr/bin/env bash
# The identity provider the stack runs against: the dev IdP (default) or your own.
#   idp.sh configure [--idp URL] [--idp-client-id ID] [--idp-client-secret S] [--idp-audience AUD]
#                    [--idp-scope SCOPE] [--idp-ca-file PEM] [--idp-extra-params JSON]
#                    [--admin USERNAME|EMAIL] [--admin-sub SUB] [--idp-env-file FILE]
#       checks the settings and writes them to $STATE/idp.env (read by service-env.sh), or
#       removes that file when no IdP is named (the dev IdP again). An env file holds the same
#       settings as FEDGATE_IDP_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _AUDIENCE, _SCOPE, _CA_FILE,
#       _EXTRA_PARAMS, FEDGATE_IDP_ADMIN, FEDGATE_IDP_ADMIN_SUB; options override it.
#       FEDGATE_IDP_ENV_FILE in the environment names the env file too.
#   idp.sh check       the configured IdP answers its discovery document over TLS, names itself
#                      as the issuer and offers the device flow (the stack runs this before the services)
set -euo pipefail
# shellcheck source=scripts/infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SETTINGS=$STATE/idp.env
KEYS=(FEDGATE_IDP_ISSUER FEDGATE_IDP_CLIENT_ID FEDGATE_IDP_CLIENT_SECRET FEDGATE_IDP_AUDIENCE FEDGATE_IDP_SCOPE FEDGATE_IDP_CA_FILE FEDGATE_IDP_EXTRA_PARAMS FEDGATE_IDP_ADMIN FEDGATE_IDP_ADMIN_SUB FEDGATE_IDP_DEV_USERS)

cmd_configure() {
  local env_file=${FEDGATE_IDP_ENV_FILE:-} key
  declare -A given=()
  while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "option $1 needs a value"
    case "$1" in
      --idp) given[FEDGATE_IDP_ISSUER]=$2 ;;
      --idp-client-id) given[FEDGATE_IDP_CLIENT_ID]=$2 ;;
      --idp-client-secret) given[FEDGATE_IDP_CLIENT_SECRET]=$2 ;;
      --idp-audience) given[FEDGATE_IDP_AUDIENCE]=$2 ;;
      --idp-scope) given[FEDGATE_IDP_SCOPE]=$2 ;;
      --idp-ca-file) given[FEDGATE_IDP_CA_FILE]=$2 ;;
      --idp-extra-params) given[FEDGATE_IDP_EXTRA_PARAMS]=$2 ;;
      --admin) given[FEDGATE_IDP_ADMIN]=$2 ;;
      --admin-sub) given[FEDGATE_IDP_ADMIN_SUB]=$2 ;;
      --idp-env-file) env_file=$2 ;;
      *) die "unknown option $1" ;;
    esac
    shift 2
  done
  for key in "${KEYS[@]}"; do unset "$key"; done
  if [ -n "$env_file" ]; then
    [ -f "$env_file" ] || die "--idp-env-file: $env_file does not exist"
    # shellcheck disable=SC1090
    . "$env_file"
  fi
  for key in "${!given[@]}"; do printf -v "$key" '%s' "${given[$key]}"; done
  if [ -z "${FEDGATE_IDP_ISSUER:-}" ]; then
    [ ${#given[@]} = 0 ] && [ -z "$env_file" ] || die "IdP options without --idp: name the issuer (--idp https://...) or leave them all out for the dev IdP"
    rm -f "$SETTINGS"
    return 0
  fi
  validate
  umask 077
  {
    echo "# the stack's identity provider (scripts/infra/idp.sh configure)"
    for key in "${KEYS[@]}"; do
      [ -z "${!key:-}" ] || printf '%s=%q\n' "$key" "${!key}"
    done
  } >"$SETTINGS"
  log "idp: the stack uses $FEDGATE_IDP_ISSUER (client ${FEDGATE_IDP_CLIENT_ID}); the dev IdP is not started"
}

# Settings that can be judged without asking the IdP: refused here, before anything starts.
validate() {
  case "$FEDGATE_IDP_ISSUER" in
    https://*) ;;
    http://*) die "--idp $FEDGATE_IDP_ISSUER: the issuer must be https://. Fedgate fetches the IdP's signing keys and tokens over TLS only; put the IdP behind TLS (a private CA goes in --idp-ca-file)" ;;
    *) die "--idp $FEDGATE_IDP_ISSUER: not an issuer URL (expected https://host/...)" ;;
  esac
  node -e 'new URL(process.argv[1])' "$FEDGATE_IDP_ISSUER" 2>/dev/null || die "--idp $FEDGATE_IDP_ISSUER: not a valid URL"
  [ -n "${FEDGATE_IDP_CLIENT_ID:-}" ] || die "--idp-client-id is required: the IdP client with the device authorization grant that Fedgate signs people in with"
  if [ -n "${FEDGATE_IDP_CA_FILE:-}" ]; then
    FEDGATE_IDP_CA_FILE=$(cd "$(dirname "$FEDGATE_IDP_CA_FILE")" 2>/dev/null && pwd -P)/$(basename "$FEDGATE_IDP_CA_FILE")
    [ -f "$FEDGATE_IDP_CA_FILE" ] || die "--idp-ca-file $FEDGATE_IDP_CA_FILE does not exist"
    grep -q -- '-----BEGIN CERTIFICATE-----' "$FEDGATE_IDP_CA_FILE" || die "--idp-ca-file $FEDGATE_IDP_CA_FILE holds no PEM certificate"
  fi
  if [ -n "${FEDGATE_IDP_EXTRA_PARAMS:-}" ]; then
    node -e 'const p=JSON.parse(process.argv[1]); if (typeof p!=="object"||p===null||Array.isArray(p)) process.exit(1)' "$FEDGATE_IDP_EXTRA_PARAMS" 2>/dev/null ||
      die "--idp-extra-params must be a JSON object, e.g. '{\"audience\":\"https://fedgate.local/api\"}'"
  fi
  if [ -z "${FEDGATE_IDP_ADMIN:-}${FEDGATE_IDP_ADMIN_SUB:-}" ]; then
    log "idp: no bootstrap admin (--admin USERNAME|EMAIL): nobody will administer service:$FEDGATE_SERVICE_NAME"
  fi
}

cmd_check() {
  [ -f "$SETTINGS" ] || return 0
  # shellcheck disable=SC1090
  . "$SETTINGS"
  local url=${FEDGATE_IDP_ISSUER%/}/.well-known/openid-configuration body status=0 ca_args=()
  # the stack's CA and the IdP's own, as the services trust them
  local bundle=$RUN/idp-check-ca.pem
  cat "$STATE/tls/ca.pem" ${FEDGATE_IDP_CA_FILE:+"$FEDGATE_IDP_CA_FILE"} >"$bundle"
  ca_args=(--cacert "$bundle")
  body=$(curl -sS --max-time 10 "${ca_args[@]}" --fail-with-body "$url" 2>&1) || status=$?
  if [ "$status" != 0 ]; then
    body=${body%%$'\n'*} # curl's first line says it
    case "$body" in
      *certificate*|*SSL*) die "idp: $url: the IdP's TLS certificate is not trusted ($body); give its CA with --idp-ca-file" ;;
      *) die "idp: $url did not answer its discovery document: $body" ;;
    esac
  fi
  ISSUER=$FEDGATE_IDP_ISSUER node -e '
    const doc = JSON.parse(process.argv[1]);
    const problems = [];
    if (doc.issuer !== process.env.ISSUER) problems.push(`it names itself ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(process.env.ISSUER)} (use exactly that issuer: tokens carry it in "iss")`);
    if (!doc.device_authorization_endpoint) problems.push("it offers no device authorization endpoint: enable the OAuth 2.0 device authorization grant (RFC 8628)");
    if (!doc.jwks_uri) problems.push("it publishes no jwks_uri");
    if (problems.length) { console.error(problems.join("; ")); process.exit(1); }' "$body" 2>"$bundle.err" ||
    die "idp: $url: $(cat "$bundle.err")"
  rm -f "$bundle" "$bundle.err"
  log "idp: $FEDGATE_IDP_ISSUER answers its discovery document and offers the device flow"
}

dispatch_args() {
  local verb=${1:-}
  shift || true
  case "$verb" in
    configure) cmd_configure "$@" ;;
    check) cmd_check ;;
    *) echo "usage: $0 {configure [options]|check}" >&2; exit 2 ;;
  esac
}
dispatch_args "$@"
