#!/usr/bin/env bash
# The README's first command: install fineprint's dependencies, build it, and run it all-in-one
# on this host (collector + classifier + API in one process, embedded queue and SQLite store).
# Extra arguments are ignored; configure with the FINEPRINT_* variables (docs/configuration.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v node >/dev/null 2>&1; then
  echo "fineprint needs Node.js 20.19+ (and npm) on PATH" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
socket="${DOCKER_HOST:-unix:///var/run/docker.sock}"
if [[ "$socket" == unix://* && ! -S "${socket#unix://}" ]]; then
  echo "note: no Docker socket at ${socket#unix://} yet; fineprint starts anyway and connects when dockerd is up" >&2
fi
exec node bin/fineprint.js start
