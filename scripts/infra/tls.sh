#!/usr/bin/env bash
# Local dev PKI: one CA and one server certificate shared by every Fedgate service.
#   tls.sh ensure   create $STATE/tls/{ca.pem,ca-key.pem,server.pem,server-key.pem} if missing,
#                   invalid, lacking a SAN or expiring within 7 days; otherwise keep them.
# Clients trust the CA: NODE_EXTRA_CA_CERTS=$STATE/tls/ca.pem, ssl.create_default_context(cafile=...).
set -euo pipefail
# shellcheck source=scripts/infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# FEDGATE_TLS_DIR: another PKI of the same shape (keycloak.sh gives its Keycloak a CA of its own)
TLS=${FEDGATE_TLS_DIR:-$STATE/tls}
CA_DAYS=3650
SERVER_DAYS=825
MIN_VALID_SECONDS=$((7 * 24 * 3600))
# Service host names (compose service names) plus loopback, so the same cert works natively and in compose.
SAN_DNS=(localhost login-service token-service authz-service audit-service dev-idp kafka openfga postgres superlink)
SAN_IP=(127.0.0.1 ::1)

san_ext() {
  local out="" n
  for n in "${SAN_DNS[@]}"; do out+="${out:+,}DNS:$n"; done
  for n in "${SAN_IP[@]}"; do out+=",IP:$n"; done
  printf '%s' "$out"
}

# key_matches CERT KEY — the private key belongs to the certificate.
key_matches() {
  [ "$(openssl x509 -noout -pubkey -in "$1" 2>/dev/null)" = "$(openssl pkey -pubout -in "$2" 2>/dev/null)" ]
}

ca_ok() {
  [ -s "$TLS/ca.pem" ] && [ -s "$TLS/ca-key.pem" ] || return 1
  openssl x509 -noout -checkend "$MIN_VALID_SECONDS" -in "$TLS/ca.pem" >/dev/null 2>&1 || return 1
  openssl x509 -noout -ext basicConstraints -in "$TLS/ca.pem" 2>/dev/null | grep -q 'CA:TRUE' || return 1
  key_matches "$TLS/ca.pem" "$TLS/ca-key.pem"
}

server_ok() {
  local sans n
  [ -s "$TLS/server.pem" ] && [ -s "$TLS/server-key.pem" ] || return 1
  openssl x509 -noout -checkend "$MIN_VALID_SECONDS" -in "$TLS/server.pem" >/dev/null 2>&1 || return 1
  # -x509_strict: also what Python 3.13+'s default context enforces (AKI/SKI, critical basicConstraints).
  openssl verify -x509_strict -purpose sslserver -CAfile "$TLS/ca.pem" "$TLS/server.pem" >/dev/null 2>&1 || return 1
  key_matches "$TLS/server.pem" "$TLS/server-key.pem" || return 1
  # A SAN added to this script later must trigger a re-issue.
  sans=$(openssl x509 -noout -ext subjectAltName -in "$TLS/server.pem" 2>/dev/null | tr -d ' \n')
  for n in "${SAN_DNS[@]}"; do [[ ",${sans#*:}," == *",DNS:$n,"* ]] || return 1; done
  [[ "$sans" == *"IPAddress:127.0.0.1"* ]] || return 1
  # openssl prints ::1 in expanded form.
  [[ "$sans" == *"IPAddress:0:0:0:0:0:0:0:1"* ]] || return 1
}

new_ca() {
  local tmp=$1
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca-key.pem" 2>/dev/null
  openssl req -x509 -new -sha256 -days "$CA_DAYS" -key "$tmp/ca-key.pem" -out "$tmp/ca.pem" \
    -subj "/O=Fedgate dev/CN=Fedgate dev CA $(hostname -s 2>/dev/null || echo local) $(date -u +%Y%m%d%H%M%S)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
  mv -f "$tmp/ca-key.pem" "$TLS/ca-key.pem"
  mv -f "$tmp/ca.pem" "$TLS/ca.pem"
}

new_server() {
  local tmp=$1
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/server-key.pem" 2>/dev/null
  openssl req -new -sha256 -key "$tmp/server-key.pem" -subj "/O=Fedgate dev/CN=localhost" -out "$tmp/server.csr" 2>/dev/null
  cat >"$tmp/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=$(san_ext)
EOF
  openssl x509 -req -sha256 -days "$SERVER_DAYS" -in "$tmp/server.csr" \
    -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null
  mv -f "$tmp/server-key.pem" "$TLS/server-key.pem"
  mv -f "$tmp/server.pem" "$TLS/server.pem"
}

ensure() {
  command -v openssl >/dev/null || die "openssl is required (apt-get install -y openssl)"
  mkdir -p "$TLS"
  chmod 700 "$TLS"
  (
    # Several services may call ensure concurrently at startup.
    exec 9>"$TLS/.lock"
    flock 9
    umask 077
    tmp=$(mktemp -d "$TLS/.tmp.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    if ! ca_ok; then
      log "tls: creating dev CA in $TLS"
      new_ca "$tmp"
      rm -f "$TLS/server.pem" # a new CA invalidates the old leaf
    fi
    if ! server_ok; then
      log "tls: issuing server certificate ($(san_ext))"
      new_server "$tmp"
      server_ok || die "tls: generated server certificate failed verification"
    fi
    chmod 600 "$TLS/ca-key.pem" "$TLS/server-key.pem"
    chmod 644 "$TLS/ca.pem" "$TLS/server.pem"
  )
  log "tls: ok ($TLS; server cert valid until $(openssl x509 -noout -enddate -in "$TLS/server.pem" | cut -d= -f2))"
}

# superlink DIR [OWNER] — the SuperLink's own TLS material in DIR, and nothing else of the
# stack's: the CA certificate (never its key) and a certificate of its own (SANs superlink,
# localhost, 127.0.0.1) with its own key, so neither the CA key nor the services' key is ever
# readable where the SuperLink (and the ServerApps it starts) run. Re-issued when missing,
# expiring or not signed by the current CA.
superlink() {
  local dir=${1:?usage: $0 superlink DIR [OWNER]} owner=${2:-}
  ensure >/dev/null
  mkdir -p "$dir"
  chmod 700 "$dir"
  (
    exec 9>"$TLS/.lock"
    flock 9
    umask 077
    if ! { [ -s "$dir/superlink.pem" ] && cmp -s "$TLS/ca.pem" "$dir/ca.pem" &&
      openssl verify -CAfile "$TLS/ca.pem" "$dir/superlink.pem" >/dev/null 2>&1 &&
      openssl x509 -checkend $((7 * 86400)) -noout -in "$dir/superlink.pem" >/dev/null 2>&1; }; then
      log "tls: issuing the SuperLink's own certificate in $dir"
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/superlink-key.pem" 2>/dev/null
      openssl req -new -sha256 -key "$dir/superlink-key.pem" -subj "/O=Fedgate dev/CN=superlink" -out "$dir/superlink.csr" 2>/dev/null
      printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' \
        'subjectAltName=DNS:superlink,DNS:localhost,IP:127.0.0.1' >"$dir/superlink.ext"
      openssl x509 -req -sha256 -days "$SERVER_DAYS" -in "$dir/superlink.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" \
        -set_serial "0x$(openssl rand -hex 16)" -extfile "$dir/superlink.ext" -out "$dir/superlink.pem" 2>/dev/null
      rm -f "$dir/superlink.csr" "$dir/superlink.ext"
      cp "$TLS/ca.pem" "$dir/ca.pem"
    fi
    chmod 600 "$dir/superlink-key.pem"
    chmod 644 "$dir/ca.pem" "$dir/superlink.pem"
    if [ -n "$owner" ]; then chown -R "$owner" "$dir"; fi
  )
}

case "${1:-}" in
  ensure) ensure ;;
  superlink) shift; superlink "$@" ;;
  *)
    echo "usage: $0 ensure | superlink DIR [OWNER]" >&2
    exit 2
    ;;
esac
