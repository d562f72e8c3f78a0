#!/usr/bin/env bash
# schemathesis (the OpenAPI fuzzer, from PyPI) for the API fuzz test: start | stop | env | status
#
# Not a daemon: "start" makes sure a virtualenv in $ROOT/.cache/schemathesis-venv (git-ignored)
# holds the pinned version, "env" prints where its `st` binary is. The wheels are downloaded once
# into $ROOT/.cache/pip/wheels and installed from there with --no-index, so a second install (a
# new venv on the same checkout) downloads nothing: pip's HTTP cache alone does not guarantee that,
# the package index here sends no cache headers.
# "stop" has nothing to stop: the venv stays, like the other services' downloads.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.cache/schemathesis-venv"
PIP_CACHE="$ROOT/.cache/pip"
WHEELS="$PIP_CACHE/wheels"
# Pinned: a new release may add checks or change how it generates data; bump it on purpose.
VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
ST="$VENV/bin/st"

SERVICE=schemathesis
# shellcheck source=scripts/services/lib.sh
. "$ROOT/scripts/services/lib.sh"

installed() {
  [ -x "$ST" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" = "$VERSION" ]
}

install_python() {
  # schemathesis needs Python 3.9+ with venv; a fresh Debian has python3 but maybe not its venv module.
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then return 0; fi
  apt_install python3 python3-venv
}

case "${1:-}" in
  start)
    if installed; then log "schemathesis $VERSION ready ($ST)"; exit 0; fi
    install_python
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    export PIP_CACHE_DIR="$PIP_CACHE" PIP_DISABLE_PIP_VERSION_CHECK=1
    if ! "$VENV/bin/pip" install --quiet --no-index --find-links "$WHEELS" "schemathesis==$VERSION" 2>/dev/null; then
      log "downloading schemathesis $VERSION and its dependencies into $WHEELS"
      "$VENV/bin/pip" download --quiet --dest "$WHEELS" "schemathesis==$VERSION"
      "$VENV/bin/pip" install --quiet --no-index --find-links "$WHEELS" "schemathesis==$VERSION"
    fi
    log "installed schemathesis $VERSION into $VENV"
    installed || { log "schemathesis $VERSION did not install"; exit 1; }
    ;;
  stop)
    # Nothing runs between tests; the venv is a cache like .cache/m2.
    ;;
  env)
    echo "export FINEPRINT_TEST_SCHEMATHESIS=$ST"
    ;;
  status)
    if installed; then echo "schemathesis $VERSION at $ST"; else echo "schemathesis $VERSION not installed"; exit 1; fi
    ;;
  *)
    echo "usage: $0 start|stop|env|status" >&2
    exit 2
    ;;
esac
