#!/usr/bin/env bash
# Flower (PyPI `flwr`, FLWR_VERSION in infra/stack.env) in a cached Python venv outside the
# repository, shared by every checkout: the SuperLink (superlink.sh), the real `flwr` CLI
# of the end-to-end test and the integration's pytest run from it.
#   flwr.sh ensure   create/complete the venv (flwr==$FLWR_VERSION, pytest, wheel); prints its path
#   flwr.sh path     print the venv path (exit 1 when it was never made ready)
#   flwr.sh pytest   run integrations/flower's tests in the venv (extra args go to pytest)
#   flwr.sh conformance  check the SuperLink interface of every release of the 1.34+ band
#                    (FLWR_FEDERATION_RELEASES in infra/stack.env) from its wheel's source
# FEDGATE_PYTHON picks the interpreter (default python3; flwr 1.22 needs 3.9.2 to 3.13);
# FEDGATE_FLWR_VERSION overrides stack.env's FLWR_VERSION (superlink.sh and the e2e test follow).
# As root the venvs live in /var/cache/fedgate (FEDGATE_FLWR_VENV_DIR), world-readable and
# root-owned: superlink.sh runs the ServerApp executor from the same venv as an unprivileged
# user, who cannot enter root's 0700 home where the rest of the cache is. They hold only PyPI's packages.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON=${FEDGATE_PYTHON:-python3}
# as root, an interpreter the ServerApp executor's user can run too: not one under root's 0700
# home (pyenv, ...), whose venv would point there; the system's when `python3` is such a one
if [ "$(id -u)" = 0 ] && [ -z "${FEDGATE_PYTHON:-}" ]; then
  _real=$("$PYTHON" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null || true)
  case "$_real" in "$HOME"/*|/root/*) [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3 ;; esac
  unset _real
fi
# another supported release for a one-off check, e.g. FEDGATE_FLWR_VERSION=1.23.0
FLWR_VERSION=${FEDGATE_FLWR_VERSION:-$FLWR_VERSION}

VENVS=${FEDGATE_FLWR_VENV_DIR:-$([ "$(id -u)" = 0 ] && echo /var/cache/fedgate || echo "$CACHE")}

venv_dir() {
  local pyver
  pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || die "no usable Python ($PYTHON); set FEDGATE_PYTHON"
  echo "$VENVS/flwr-$FLWR_VERSION-py$pyver"
}

cmd_path() {
  local venv
  venv=$(venv_dir)
  [ -f "$venv/.fedgate-ready" ] || return 1
  echo "$venv"
}

cmd_ensure() {
  local venv reqs
  venv=$(venv_dir)
  # what the venv holds; `wheel` lets the package's own test build it offline
  reqs="flwr==$FLWR_VERSION pytest>=8 wheel"
  mkdir -p "$VENVS"
  (
    # readable by every user (the ServerApp executor's too): packages only, no secret
    umask 022
    # several checkouts may ask at once: one installs, the others wait
    exec 9>"$venv.lock"
    flock 9
    if [ "$(cat "$venv/.fedgate-ready" 2>/dev/null)" = "$reqs" ] && "$venv/bin/python" -c 'import flwr, pytest' 2>/dev/null; then exit 0; fi
    if [ ! -x "$venv/bin/pip" ]; then
      log "flwr: creating $venv"
      rm -rf "$venv"
      "$PYTHON" -m venv "$venv" || die "cannot create a venv with $PYTHON (apt-get install python3-venv?)"
    fi
    log "flwr: installing $reqs into $venv (from PyPI; a few minutes the first time)"
    # shellcheck disable=SC2086 # the requirement list splits on purpose
    "$venv/bin/pip" install --quiet --disable-pip-version-check $reqs >"$venv.install.log" 2>&1 ||
      { show_log_tail "$venv.install.log"; die "pip install $reqs failed"; }
    [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("flwr"))')" = "$FLWR_VERSION" ] || die "flwr $FLWR_VERSION did not install"
    printf '%s' "$reqs" >"$venv/.fedgate-ready"
  )
  echo "$venv"
}

cmd_pytest() {
  local venv
  venv=$(cmd_ensure)
  cd "$ROOT/integrations/flower"
  # the package from this checkout's source (the shared venv holds only flwr and pytest)
  PYTHONPATH="$ROOT/integrations/flower/src" PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -p no:cacheprovider "${PYTEST_ARGS[@]}"
}

# Every release of the band from its wheel (pip download, cached in $CACHE/flwr-wheels), read
# by fedgate_flower.conformance without installing it: the flwr.ee names it imports, the OIDC
# loading, the plugin constructor, the control handlers and the FederationManager's actions.
cmd_conformance() {
  local wheels=$CACHE/flwr-wheels dirs=() version
  mkdir -p "$wheels"
  (
    exec 9>"$wheels.lock"
    flock 9
    for version in $FLWR_FEDERATION_RELEASES; do
      [ -d "$wheels/$version/flwr" ] && continue
      "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps "flwr==$version" -d "$wheels/dl" >"$wheels/dl.log" 2>&1 ||
        { show_log_tail "$wheels/dl.log"; die "pip download flwr==$version failed"; }
      rm -rf "$wheels/$version.tmp" && mkdir -p "$wheels/$version.tmp"
      "$PYTHON" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("flwr/")])' \
        "$wheels/dl/flwr-$version-py3-none-any.whl" "$wheels/$version.tmp"
      mv "$wheels/$version.tmp" "$wheels/$version"
    done
  )
  for version in $FLWR_FEDERATION_RELEASES; do dirs+=("$wheels/$version/flwr"); done
  PYTHONPATH="$ROOT/integrations/flower/src" PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -m fedgate_flower.conformance "${dirs[@]}"
}

PYTEST_ARGS=("${@:2}")
dispatch "${1:-}"
