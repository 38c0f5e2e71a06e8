#!/usr/bin/env bash
# `npm run stack:down` — stops every part of a detached stack, services first, and checks
# that no process of it is left.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/infra/lib.sh"

bash "$ROOT/scripts/infra/superlink.sh" stop
bash "$ROOT/scripts/infra/services.sh" stop
bash "$ROOT/scripts/infra/dev-idp.sh" stop
bash "$ROOT/scripts/infra/openfga.sh" stop
bash "$ROOT/scripts/infra/kafka.sh" stop
bash "$ROOT/scripts/infra/postgres.sh" stop
rm -f "$STATE/stack.json"
log "stack stopped"
