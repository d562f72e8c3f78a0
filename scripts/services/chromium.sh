#!/usr/bin/env bash
# Headless Chromium for the page tests: start | stop | env | status
#
# Nothing runs in the background: each test launches its own headless browser through
# playwright-core (test/e2e/page.test.ts). `start` only makes sure Debian's chromium is installed
# (`npx playwright install` downloads a browser build of its own, which cannot work here).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHROMIUM=/usr/bin/chromium
SERVICE=chromium
# shellcheck source=scripts/services/lib.sh
. "$ROOT/scripts/services/lib.sh"

installed() { [ -x "$CHROMIUM" ]; }

install_chromium() {
  if installed; then return 0; fi
  apt_install chromium
  installed || { log "ERROR: $CHROMIUM is missing after apt-get install chromium"; exit 1; }
  log "installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
}

case "${1:-}" in
  start) install_chromium ;;
  # Nothing to stop: the browser lives and dies with each test.
  stop) ;;
  env) echo "export FINEPRINT_TEST_CHROMIUM=$CHROMIUM" ;;
  # status: exit 0 when installed (scripts/test.sh then leaves it as it is).
  status) installed ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
