#!/usr/bin/env bash
# `npm test` — every test, on a fresh machine too: builds (installing what is missing),
# checks Nx module boundaries, starts the local stack (detached) unless one is already
# running, runs the unit and integration tests against the real Kafka, OpenFGA,
# PostgreSQL and dev IdP in one node:test run, and stops the stack if it started it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/infra/lib.sh"
cd "$ROOT"

bash scripts/build.sh
log "checking module boundaries (eslint)"
export NX_DAEMON=false
npx nx show projects >/dev/null # computes the project graph the boundary rule reads
npx eslint --max-warnings=0 .

# the audit viewer's browser test drives Debian's chromium: install it when missing (as root)
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian's chromium for the audit viewer test (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
      log "could not install chromium: the audit viewer test will be skipped"
  else
    log "chromium is missing and this is not root: the audit viewer test will be skipped (apt-get install chromium)"
  fi
fi

started_stack=0
if [ -f "$STATE/stack.json" ] && bash scripts/infra/services.sh status 2>/dev/null; then
  log "using the running stack"
else
  bash scripts/stack.sh --detach
  started_stack=1
fi
cleanup() { if [ "$started_stack" = 1 ]; then bash scripts/stack-down.sh || true; fi; }
trap cleanup EXIT

ensure_secrets
. scripts/infra/service-env.sh
export FEDGATE_STACK_FILE=$STATE/stack.json

# unit tests first, then integration tests; one at a time, since some restart shared
# infrastructure (Kafka for the outbox test, the whole stack for the lifecycle test)
mapfile -t unit < <(find dist/apps dist/libs -name '*.spec.js' | sort)
mapfile -t integration < <(find dist/apps dist/libs -name '*.integration.js' | sort)
# (the copy of the output lives outside the stack's state dir: the lifecycle test counts
# every process that mentions that dir as a leftover of the stack)
output=$(mktemp -t fedgate-test-output.XXXXXX)
tap=$(mktemp -t fedgate-test-tap.XXXXXX)
set +e
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$tap" \
  "${unit[@]}" "${integration[@]}" 2>&1 | tee "$output"
status=${PIPESTATUS[0]}
# a skip nobody expects is a failure (scripts/expected-skips.txt): it may hide a broken test
node scripts/check-skips.mjs "$tap"
skips=$?
[ "$status" = 0 ] || node scripts/failure-digest.mjs "$tap" "$RUN"
set -e
# the plain closing line: counts from node's own summary
passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$output" | tail -1)
failed=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$output" | tail -1)
rm -f "$output" "$tap"
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
[ "$status" = 0 ] || exit "$status"
exit "$skips"
