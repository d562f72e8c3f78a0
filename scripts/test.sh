#!/usr/bin/env bash
# The project's test command (`npm test`, and CI through .ci/run): install, build, check, start
# the real services the e2e tests need, run vitest, and end with the line "N passed, N failed".
# SKIP_NPM_CI=1 skips the clean install (a local rerun; npm ci recompiles better-sqlite3, ~1.5 min).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Real services, each scripts/services/<name>.sh with start|stop|env|status. A new one (Kafka,
# Elasticsearch, Alertmanager, Chromium...) is one more name here.
SERVICES=(dockerd kafka elasticsearch images fineprint-image chromium alertmanager prometheus schemathesis)
STARTED=()

stop_services() {
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    bash "scripts/services/${STARTED[i]}.sh" stop || echo "warning: could not stop ${STARTED[i]}" >&2
  done
  STARTED=()
}
trap stop_services EXIT

if [ "${SKIP_NPM_CI:-}" != 1 ]; then
  npm ci --no-audit --no-fund
fi
# better-sqlite3 is native: package.json's allowScripts must have let npm build it.
if ! node -e "require('better-sqlite3')(':memory:').close()"; then
  echo "better-sqlite3 does not load: its install script did not run (allowScripts?)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Keep going after a failed check so one run shows every problem; the exit code remembers it.
failed_checks=()
for step in build typecheck lint; do
  npm run "$step" || failed_checks+=("$step")
done
bash scripts/check-compose.sh || failed_checks+=("compose")

for svc in "${SERVICES[@]}"; do
  # A service that already runs (a developer's, shared with others) is used but left running.
  bash "scripts/services/$svc.sh" status >/dev/null 2>&1 || STARTED+=("$svc")
  bash "scripts/services/$svc.sh" start # idempotent: also makes sure the test images exist
  eval "$(bash "scripts/services/$svc.sh" env)"
done

REPORT=test-results/vitest.json
rm -f "$REPORT"
set +e
npx vitest run --reporter=default --reporter=json --outputFile="$REPORT"
vitest_rc=$?
set -e

# Stop now, not in the EXIT trap: the summary must stay the last line of the output.
stop_services
trap - EXIT

if [ "${#failed_checks[@]}" -gt 0 ]; then
  echo "failed checks: ${failed_checks[*]}"
fi
# A suite that fails to load counts no failed test: count the suite then, so a red run never
# reads "0 failed".
node -e '
  const fs = require("fs");
  const [file, rc] = [process.argv[1], Number(process.argv[2])];
  let r;
  try { r = JSON.parse(fs.readFileSync(file, "utf8")); } catch { console.log("0 passed, 1 failed"); process.exit(0); }
  let failed = r.numFailedTests ?? 0;
  if (rc !== 0 && failed === 0) failed = Math.max(1, r.numFailedTestSuites ?? 0);
  console.log(`${r.numPassedTests ?? 0} passed, ${failed} failed`);
' "$REPORT" "$vitest_rc"

if [ "$vitest_rc" -ne 0 ]; then exit "$vitest_rc"; fi
if [ "${#failed_checks[@]}" -gt 0 ]; then exit 1; fi
exit 0
