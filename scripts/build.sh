#!/usr/bin/env bash
# Builds the workspace: installs npm dependencies when missing or stale, generates the
# Prisma client, compiles every app and lib with tsc into dist/, and links the
# @fedgate/* libraries so compiled code resolves them like packages.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
log() { echo "[fedgate] $*" >&2; }

stamp=node_modules/.fedgate-install-stamp
# patches/ holds fixes to dependencies (patch-package, applied by npm's postinstall)
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ -n "$(find patches -newer "$stamp" 2>/dev/null)" ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

generated=libs/database/src/generated/prisma/client.ts
if [ ! -f "$generated" ] || [ prisma/schema.prisma -nt "$generated" ]; then
  log "generating the Prisma client"
  npx prisma generate >/dev/null
fi

log "compiling TypeScript"
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo

# tsc never deletes: drop compiled files whose source is gone (a deleted spec would still run)
if [ -d dist/apps ] || [ -d dist/libs ]; then
  find dist/apps dist/libs -name '*.js' 2>/dev/null | while read -r js; do
    src=${js#dist/}; src=${src%.js}
    [ -f "$src.ts" ] || [ -f "$src.js" ] || [ -f "$src.mjs" ] || rm -f "$js" "$js.map" "${js%.js}.d.ts"
  done
fi

mkdir -p dist/node_modules/@fedgate
for lib in libs/*/; do
  name=$(basename "$lib")
  ln -sfn "../../libs/$name/src" "dist/node_modules/@fedgate/$name"
done
