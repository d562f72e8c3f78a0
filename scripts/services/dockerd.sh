#!/usr/bin/env bash
# A private Docker engine for the tests: start | stop | env | status
#
# Why private: tests provoke OOM kills, fork bombs and crash loops; they must never touch
# (or be disturbed by) another daemon on the machine. All state lives in $ROOT/.cache/dockerd
# (git-ignored), the API socket included. No bridge and no iptables: every test container runs
# with NetworkMode "none", nothing is ever published, and only loopback traffic is allowed here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# DOCKERD_DIR: another private daemon (e.g. one a fault test restarts without disturbing the shared one).
D="${DOCKERD_DIR:-$ROOT/.cache/dockerd}"
SOCK="$D/docker.sock"
PIDFILE="$D/docker.pid"
LOG="$D/dockerd.log"
IMAGE="fineprint-test/busybox:latest"
# /usr/local/bin/docker may be a different (newer) client: use Debian's, which matches the daemon.
DOCKER_BIN="/usr/bin/docker"
START_TIMEOUT="${DOCKERD_START_TIMEOUT:-60}"

SERVICE=dockerd
# shellcheck source=scripts/services/lib.sh
. "$ROOT/scripts/services/lib.sh"
dk() { "$DOCKER_BIN" -H "unix://$SOCK" "$@"; }

# The API answers /_ping with "OK" once the daemon is ready.
ping() { [ -S "$SOCK" ] && curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

daemon_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/comm" 2>/dev/null || return 1
  echo "$pid"
}

install_packages() {
  # A fresh machine has neither: install from Debian only when something is missing.
  local missing=()
  command -v dockerd >/dev/null 2>&1 && [ -x "$DOCKER_BIN" ] || missing+=(docker.io)
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  apt_install "${missing[@]}"
}

start_daemon() {
  if ping; then log "already running ($SOCK)"; return 0; fi
  local pid bg=""
  if pid="$(daemon_pid)"; then
    log "dockerd $pid is up but not answering yet"
  else
    mkdir -p "$D/data" "$D/exec"
    rm -f "$SOCK" "$PIDFILE"
    local args=(--bridge=none --iptables=false --ip-masq=false
      --data-root "$D/data" --exec-root "$D/exec"
      -H "unix://$SOCK" --pidfile "$PIDFILE")
    # --ip6tables exists from 20.10 on; older daemons refuse unknown flags.
    if dockerd --help 2>&1 | grep -q -- '--ip6tables'; then args+=(--ip6tables=false); fi
    # DOCKERD_ARGS: more flags for a test's own daemon (e.g. --live-restore).
    # shellcheck disable=SC2206
    args+=(${DOCKERD_ARGS:-})
    log "starting dockerd (state in $D)"
    # setsid: the daemon must outlive this script and the caller's process group/terminal.
    # 9>&-: the daemon must not inherit (and hold forever) our lock.
    setsid dockerd "${args[@]}" >>"$LOG" 2>&1 </dev/null 9>&- &
    bg=$!
  fi
  wait_ready "dockerd (on $SOCK)" "$START_TIMEOUT" "$LOG" ping "$bg"
  log "ready (pid $(cat "$PIDFILE"))"
}

build_image() {
  if dk image inspect "$IMAGE" >/dev/null 2>&1; then return 0; fi
  # No registry here: the test image is Debian's static busybox plus one link per applet.
  log "building $IMAGE from /bin/busybox"
  local rootfs
  rootfs="$(mktemp -d "$D/rootfs.XXXXXX")"
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  echo 'root:x:0:' >"$rootfs/etc/group"
  tar -C "$rootfs" -c . | dk import \
    --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
  rm -rf "$rootfs"
  log "built $IMAGE"
}

# dockerd leaves its data root bind-mounted on itself; a checkout must stay removable.
unmount_data() {
  if mountpoint -q "$D/data"; then umount "$D/data" || log "warning: could not unmount $D/data"; fi
}

stop_daemon() {
  local pid
  if ping; then
    # Containers first: a daemon killed under live containers leaves shims and cgroups behind.
    local ids
    ids="$(dk ps -aq || true)"
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      dk rm -f $ids >/dev/null || true
    fi
  fi
  if ! pid="$(daemon_pid)"; then log "not running"; rm -f "$PIDFILE"; unmount_data; return 0; fi
  # dockerd supervises its own containerd (no system containerd here): wait for both to exit.
  local cpid=""
  [ -f "$D/exec/containerd/containerd.pid" ] && cpid="$(cat "$D/exec/containerd/containerd.pid" 2>/dev/null || true)"
  # shellcheck disable=SC2086 # no containerd pid: no second argument
  stop_pids dockerd 30 "$pid" $cpid
  rm -f "$PIDFILE"
  unmount_data
  log "stopped"
}

case "${1:-}" in
  start) lock 180; install_packages; start_daemon; build_image ;;
  stop) lock 180; stop_daemon ;;
  env) echo "export DOCKER_HOST=unix://$SOCK" ;;
  # status: exit 0 when the daemon answers (scripts/test.sh then leaves it running afterwards).
  status) ping ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
