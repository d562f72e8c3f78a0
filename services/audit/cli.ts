import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config.js';
import { dockerClient } from '../../shared/docker.js';
import { FineprintError } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { Severity, SEVERITY_ORDER, severityRank } from '../../shared/kb/schema.js';
import { auditConfig } from './config.js';
import { anyAtOrAbove, assertChecksInKb, collectAudit, renderJson, renderTable, type AuditReport } from './index.js';

function fail(message: string): number {
  process.stderr.write(`fineprint: ${message}\n`);
  return 2;
}

/**
 * `fineprint audit [--json] [--fail-on SEVERITY] [--all] [CONTAINER...]`. Exit status: 0, or 1 when a
 * finding is at or above `--fail-on`; 2 for bad usage, a missing container or an unreachable daemon.
 */
export async function auditCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean' }, 'fail-on': { type: 'string' }, all: { type: 'boolean', short: 'a' } },
    allowPositionals: true,
  });
  const failOn = values['fail-on'];
  const threshold = failOn === undefined ? undefined : Severity.safeParse(failOn);
  if (threshold && !threshold.success) {
    return fail(`--fail-on must be one of ${SEVERITY_ORDER.join(', ')} (got "${failOn}")`);
  }
  const config = loadConfig(auditConfig);
  // Every check links to a KB entry: refuse to run with a knowledge base that lacks one.
  assertChecksInKb(loadKnowledgeBase(config.FINEPRINT_KB_DIR));

  let report: AuditReport;
  try {
    report = await collectAudit(dockerClient(config.DOCKER_HOST), { containers: positionals, all: values.all ?? false });
  } catch (err) {
    if (err instanceof FineprintError && err.code === 'FP_NOT_FOUND') return fail(err.message);
    const why = err instanceof FineprintError ? err.message : `a Docker request failed: ${(err as Error).message}`;
    return fail(`${why} (DOCKER_HOST=${config.DOCKER_HOST}; is dockerd running, and may this user use its socket?)`);
  }
  process.stdout.write(values.json ? renderJson(report.findings) : renderTable(report));
  if (threshold?.success && anyAtOrAbove(report.findings, threshold.data)) {
    const n = report.findings.filter((f) => severityRank(f.severity) >= severityRank(threshold.data)).length;
    process.stderr.write(`fineprint: ${n} finding${n === 1 ? '' : 's'} at or above ${threshold.data} (--fail-on ${threshold.data})\n`);
    return 1;
  }
  return 0;
}
