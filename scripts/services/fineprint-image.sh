#!/usr/bin/env bash
# fineprint's own image (the Dockerfile) on the test Docker engine, for test/e2e/image.test.ts:
# start | stop | env | status
#
# "start" launches the build in the background and returns at once: it takes minutes (Debian's
# compilers, npm ci with better-sqlite3 compiled, tsc) and runs while the other tests do. The build
# holds $D/build.lock until it ends; the test takes that lock, then builds again, which the engine's
# layer cache answers in seconds (or shows the real error). The base is fineprint-test/node from
# images.sh: a Debian root filesystem with the machine's Node.js. `docker build --network host`:
# the RUN steps reach Debian's and npm's registries; containers never get a network of their own.
# "stop" ends a build still running; the image and its layers stay, like the other caches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
D="$ROOT/.cache/fineprint-image"
SOCK="${DOCKERD_DIR:-$ROOT/.cache/dockerd}/docker.sock"
TAG="${FINEPRINT_TEST_IMAGE_TAG:-fineprint:e2e}"
BASE="fineprint-test/node:1"
PIDFILE="$D/build.pid"

SERVICE=fineprint-image
# shellcheck source=scripts/services/lib.sh
. "$ROOT/scripts/services/lib.sh"

building() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  mkdir -p "$D"
  curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1 || {
    log "ERROR: the test Docker engine does not answer on $SOCK (scripts/services/dockerd.sh start)"; exit 1; }
  if building; then log "already building (pid $(cat "$PIDFILE"), log $D/build.log)"; return 0; fi
  log "building $TAG in the background (log $D/build.log)"
  # setsid: it outlives this script; 9>&-: it must not hold the services' lock.
  setsid flock "$D/build.lock" bash -c '
    started=$(date +%s)
    docker -H "unix://$1" build --force-rm --network host --build-arg "NODE_IMAGE=$2" -t "$3" "$4" >"$5/build.log" 2>&1
    rc=$?
    echo "$rc $(( $(date +%s) - started ))" >"$5/build.result"
  ' _ "$SOCK" "$BASE" "$TAG" "$ROOT" "$D" </dev/null >/dev/null 2>&1 9>&- &
  echo $! >"$PIDFILE"
}

stop() {
  if building; then
    kill -- -"$(cat "$PIDFILE")" 2>/dev/null || kill "$(cat "$PIDFILE")" 2>/dev/null || true
    log "stopped the build in progress"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env)
    echo "export FINEPRINT_TEST_IMAGE_FINEPRINT=$TAG"
    echo "export FINEPRINT_TEST_IMAGE_BUILD_DIR=$D"
    ;;
  # status: never "running" between runs, so each test run builds from its own checkout.
  status) building ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
