#!/usr/bin/env bash
# Flower (PyPI `flwr`, FLWR_VERSION in infra/stack.env) in a cached Python venv outside the
# repository ($VENVS/<version>-py<x.y>, below), shared by every checkout: the SuperLink
# (superlink.sh), the real `flwr` CLI of the end-to-end tests and the integration's pytest run from it.
#   flwr.sh ensure   create/complete the venv (flwr==$FLWR_VERSION; its dependencies, pytest and
#                    wheel from a venv shared by the releases that declare the same ones); prints its path
#   flwr.sh path     print the venv path (exit 1 when it was never made ready)
#   flwr.sh pytest   run integrations/flower's tests in the venv (extra args go to pytest)
#   flwr.sh conformance  check the SuperLink interface of every release of the 1.34+ band
#                    (FLWR_FEDERATION_RELEASES in infra/stack.env) from its wheel's source
# FEDGATE_PYTHON picks the interpreter (default python3; flwr 1.22 needs 3.9.2 to 3.13);
# FEDGATE_FLWR_VERSION overrides stack.env's FLWR_VERSION (superlink.sh and the e2e test follow).
# As root the venvs live in /var/cache/fedgate/flwr (FEDGATE_FLWR_VENV_DIR), world-readable and
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

pyver() { "$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' || die "no usable Python ($PYTHON); set FEDGATE_PYTHON"; }

VENVS=${FEDGATE_FLWR_VENV_DIR:-$([ "$(id -u)" = 0 ] && echo /var/cache/fedgate/flwr || echo "$CACHE/flwr")}

venv_dir() { echo "$VENVS/$FLWR_VERSION-py$(pyver)"; }

cmd_path() {
  local venv
  venv=$(venv_dir)
  [ -f "$venv/.fedgate-ready" ] || return 1
  echo "$venv"
}

# The release's wheel (pip download --no-deps, cached in $CACHE/flwr-wheels/dl); prints its path.
# Callers hold the wheels lock.
flwr_wheel() {
  local wheels=$CACHE/flwr-wheels version=$1
  local wheel=$wheels/dl/flwr-$version-py3-none-any.whl
  if [ ! -f "$wheel" ]; then
    mkdir -p "$wheels/dl"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps "flwr==$version" -d "$wheels/dl" >"$wheels/dl.log" 2>&1 ||
      { show_log_tail "$wheels/dl.log"; die "pip download flwr==$version failed"; }
  fi
  echo "$wheel"
}

# The requirements a wheel declares (its METADATA's Requires-Dist, extras left out), one a line.
wheel_requirements() {
  "$PYTHON" - "$1" <<'PY'
import sys, zipfile
from email.parser import Parser
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    message = Parser().parsestr(z.read(meta).decode())
for requirement in message.get_all("Requires-Dist") or []:
    if "extra ==" not in requirement:
        print(requirement)
PY
}

# A venv per release, holding only flwr itself (installed --no-deps, with its console scripts);
# its dependencies, with pytest and wheel, live in one shared venv per distinct requirement list
# ($VENVS/deps-<hash>-py<x.y>), reached through a .pth file. Releases that declare the same
# requirements (1.34-1.39, 1.40-1.41, 1.22-1.23) install them once: a new release of such a
# group costs a wheel download, not a full install.
cmd_ensure() {
  local venv reqs wheel requirements hash deps site
  venv=$(venv_dir)
  mkdir -p "${venv%/*}"
  (
    # readable by every user (the ServerApp executor's too): packages only, no secret
    umask 022
    # several checkouts may ask at once: one installs, the others wait
    exec 9>"$venv.lock"
    flock 9
    [ -f "$venv/.fedgate-ready" ] && "$venv/bin/python" -c 'import flwr, pytest' 2>/dev/null && deps=$(cat "$venv/.fedgate-ready") && [ -f "$deps/.fedgate-ready" ] && exit 0
    wheel=$(exec 8>"$CACHE/flwr-wheels.lock" && flock 8 && flwr_wheel "$FLWR_VERSION")
    # what the shared venv holds; `wheel` lets the package's own test build it offline
    requirements=$(wheel_requirements "$wheel" && printf '%s\n' 'pytest>=8' 'wheel')
    hash=$(printf '%s' "$requirements" | sha256sum | cut -c1-12)
    deps=$VENVS/deps-$hash-py$(pyver)
    (
      exec 7>"$deps.lock"
      flock 7
      if [ "$(cat "$deps/.fedgate-ready" 2>/dev/null)" = "$requirements" ] && "$deps/bin/python" -c 'import grpc, pytest' 2>/dev/null; then exit 0; fi
      log "flwr: installing the dependencies of flwr $FLWR_VERSION into $deps (from PyPI; a few minutes the first time)"
      rm -rf "$deps"
      "$PYTHON" -m venv "$deps" || die "cannot create a venv with $PYTHON (apt-get install python3-venv?)"
      printf '%s\n' "$requirements" >"$deps.requirements.txt"
      "$deps/bin/pip" install --quiet --disable-pip-version-check -r "$deps.requirements.txt" >"$deps.install.log" 2>&1 ||
        { show_log_tail "$deps.install.log"; die "pip install of flwr $FLWR_VERSION's dependencies failed"; }
      printf '%s' "$requirements" >"$deps/.fedgate-ready"
    )
    log "flwr: installing flwr $FLWR_VERSION into $venv (its dependencies from $deps)"
    rm -rf "$venv"
    "$PYTHON" -m venv --without-pip "$venv" || die "cannot create a venv with $PYTHON (apt-get install python3-venv?)"
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    "$deps/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' >"$site/fedgate-flwr-deps.pth"
    "$deps/bin/pip" --python "$venv/bin/python" install --quiet --disable-pip-version-check --no-deps "$wheel" >"$venv.install.log" 2>&1 ||
      { show_log_tail "$venv.install.log"; die "pip install $wheel failed"; }
    # the dependencies' own commands that flwr runs (uv for app dependencies; pytest for the tests)
    for tool in uv pytest; do [ -e "$deps/bin/$tool" ] && ln -sf "$deps/bin/$tool" "$venv/bin/$tool"; done
    [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("flwr"))')" = "$FLWR_VERSION" ] || die "flwr $FLWR_VERSION did not install"
    printf '%s' "$deps" >"$venv/.fedgate-ready"
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
  local wheels=$CACHE/flwr-wheels dirs=() version wheel
  mkdir -p "$wheels"
  (
    exec 9>"$wheels.lock"
    flock 9
    for version in $FLWR_FEDERATION_RELEASES; do
      [ -d "$wheels/$version/flwr" ] && continue
      wheel=$(flwr_wheel "$version")
      rm -rf "$wheels/$version.tmp" && mkdir -p "$wheels/$version.tmp"
      "$PYTHON" -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("flwr/")])' \
        "$wheel" "$wheels/$version.tmp"
      mv "$wheels/$version.tmp" "$wheels/$version"
    done
  )
  for version in $FLWR_FEDERATION_RELEASES; do dirs+=("$wheels/$version/flwr"); done
  PYTHONPATH="$ROOT/integrations/flower/src" PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -m fedgate_flower.conformance "${dirs[@]}"
}

PYTEST_ARGS=("${@:2}")
dispatch "${1:-}"
