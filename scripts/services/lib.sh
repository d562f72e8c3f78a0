# shellcheck shell=bash
# What every scripts/services/<name>.sh shares: logging, the start/stop lock, installing Debian
# packages, waiting for readiness, and stopping a process. Sourced after the script sets SERVICE
# (its name in log lines) and D (its state directory under .cache/).

log() { echo "[$SERVICE] $*" >&2; }

# Serializes start/stop: several test runs may call a script at the same time.
lock() {
  mkdir -p "$D"
  exec 9>"$D/.lock"
  flock -w "${1:-120}" 9 || { log "ERROR: could not take $D/.lock"; exit 1; }
}

# apt_install [APT-OPTION...] PACKAGE...: installs Debian packages; nothing given, nothing to do.
apt_install() {
  [ "$#" -gt 0 ] || return 0
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

# wait_ready WHAT TIMEOUT_S LOGFILE READY_CMD [PID]: polls READY_CMD until it succeeds; fails with
# the log's tail when the process PID (the one this script launched, if any) died or time ran out.
wait_ready() {
  local what="$1" timeout="$2" logfile="$3" ready="$4" pid="${5:-}"
  local deadline=$((SECONDS + timeout))
  until $ready; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "ERROR: $what exited during startup; last log lines:"
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "ERROR: $what not ready within ${timeout}s; last log lines:"
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

# stop_pids WHAT GRACE_S PID...: SIGTERM to the first (the others, a launcher or a supervised
# child, exit with it, or get their own SIGTERM once it is gone), then SIGKILL to whatever is still
# running after GRACE_S seconds: never leaves a half-dead service behind.
stop_pids() {
  local what="$1" grace="$2"
  shift 2
  local pids=("$@") pid alive
  log "stopping $what ${pids[*]}"
  kill -TERM "${pids[0]}" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while :; do
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [ "${#alive[@]}" -eq 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "still running after ${grace}s: SIGKILL"
      kill -KILL "${alive[@]}" 2>/dev/null || true
      sleep 0.5
      break
    fi
    kill -0 "${pids[0]}" 2>/dev/null || kill -TERM "${alive[@]}" 2>/dev/null || true
    sleep 0.2
  done
}
