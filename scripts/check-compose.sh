#!/usr/bin/env bash
# Validates docker-compose.yml with a real Compose parser, no Docker daemon needed: Debian's
# docker-compose 1.29 (python) checks a file without `version:` against its Compose Specification
# schema (compose_spec.json): unknown keys, wrong types, bad depends_on conditions, YAML errors.
# When the Docker Compose v2 plugin is present (`docker compose`), it checks the file too.
#
#   bash scripts/check-compose.sh [FILE]      (default: docker-compose.yml; part of `npm test`)
#
# Installs Debian's docker-compose package when missing (needs root and apt-get, as in CI).
# The check runs with a clean environment, so the result does not depend on the caller's
# FINEPRINT_* variables; any output (e.g. "variable is not set" warnings) counts as a failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FILE="${1:-docker-compose.yml}"

fail() {
  echo "check-compose: $*" >&2
  exit 1
}

[ -f "$FILE" ] || fail "no $FILE in $ROOT"

if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "check-compose: installing Debian's docker-compose package (the compose parser)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt_log="$(mktemp)"
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose; } >"$apt_log" 2>&1; then
      cat "$apt_log" >&2
      rm -f "$apt_log"
      fail "could not install docker-compose with apt-get (output above)"
    fi
    rm -f "$apt_log"
    command -v docker-compose >/dev/null 2>&1 || fail "apt-get installed docker-compose but it is not on PATH"
  else
    fail "docker-compose is not installed; install it (Debian/Ubuntu: apt-get install docker-compose) or run this as root"
  fi
fi

# Runs one parser; prints what it said and fails on a non-zero exit or any output.
check() {
  local name="$1"
  shift
  local out rc=0
  out="$(env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 "$@" -f "$FILE" config -q 2>&1)" || rc=$?
  if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
    echo "check-compose: $FILE is NOT valid for $name (exit $rc):" >&2
    printf '%s\n' "$out" | sed 's/^/  /' >&2
    return 1
  fi
  echo "check-compose: $FILE is valid for $name"
}

status=0
check "$(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')" docker-compose || status=1
if docker compose version >/dev/null 2>&1; then
  check "docker compose $(docker compose version --short 2>/dev/null)" docker compose || status=1
fi
exit "$status"
