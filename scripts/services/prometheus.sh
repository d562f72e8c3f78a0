#!/usr/bin/env bash
# Prometheus and promtool (Debian's prometheus package) for the rules and scrape tests:
# start | stop | env | status
#
# Not a daemon: "start" installs the package when promtool is missing (its postinst starts nothing
# without an init system), "env" prints where the binaries are. The scrape test starts its own
# Prometheus on loopback with a throwaway data dir and stops it, so "stop" has nothing to stop.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROMETHEUS=/usr/bin/prometheus
PROMTOOL=/usr/bin/promtool
D="$ROOT/.cache/prometheus"

SERVICE=prometheus
# shellcheck source=scripts/services/lib.sh
. "$ROOT/scripts/services/lib.sh"

installed() { [ -x "$PROMTOOL" ] && [ -x "$PROMETHEUS" ]; }

case "${1:-}" in
  start)
    if installed; then log "ready ($("$PROMTOOL" --version 2>&1 | head -n 1))"; exit 0; fi
    lock 120
    apt_install --no-install-recommends prometheus
    installed || { log "ERROR: prometheus did not install"; exit 1; }
    log "installed ($("$PROMTOOL" --version 2>&1 | head -n 1))"
    ;;
  stop) ;;
  env)
    echo "export FINEPRINT_TEST_PROMETHEUS=$PROMETHEUS"
    echo "export FINEPRINT_TEST_PROMTOOL=$PROMTOOL"
    ;;
  # status: exit 0 when installed (nothing runs between tests).
  status) installed ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
