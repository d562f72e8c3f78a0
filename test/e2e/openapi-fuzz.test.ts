// schemathesis (scripts/services/schemathesis.sh) fuzzes the running all-in-one from its own
// OpenAPI document, with real incidents in it (a real OOM kill, a fork bomb, a kernel line): no
// 5xx, and every status, content type and body it answers is one the document describes.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, testDocker } from '../support/docker.js';
import { REPO_ROOT, startFineprint, TEST_TOKEN, type RunningFineprint } from '../support/fineprint.js';
import { CONTAINER_SCENARIOS, injectKernelLine, KERNEL_SCENARIOS, onlyHostIncident, onlyIncident } from '../support/scenarios.js';

const ST = process.env.FINEPRINT_TEST_SCHEMATHESIS;
const docker = testDocker();
const PREFIX = `fp-fuzz-${process.pid}-`;
/** Test cases per operation and phase: enough to find what it found so far, in about a minute. */
const MAX_EXAMPLES = 60;
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance'];
let fp: RunningFineprint;

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  fp = await startFineprint();
  // Real incidents, with container facts and evidence, for the fuzzer to list, read, ack and resolve.
  for (const kbId of ['oom-kill', 'pids-exhausted']) {
    const scenario = CONTAINER_SCENARIOS.find((s) => s.kbId === kbId);
    if (!scenario) throw new Error(`no ${kbId} scenario`);
    const name = `${PREFIX}${kbId}`;
    await scenario.run(docker, name);
    await onlyIncident(fp.url, name, kbId, scenario.timeoutMs);
  }
  const [kbId, line] = KERNEL_SCENARIOS[0] ?? [];
  if (!kbId || !line) throw new Error('no kernel scenario');
  injectKernelLine(line);
  await onlyHostIncident(fp.url, kbId);
}, 240_000);

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('the API under schemathesis', () => {
  it('answers only what its OpenAPI document describes, and never a 5xx', async () => {
    expect(ST, 'FINEPRINT_TEST_SCHEMATHESIS: run `eval "$(bash scripts/services/schemathesis.sh env)"` after its start').toBeTruthy();
    const reports = join(REPO_ROOT, 'test-results', 'schemathesis');
    mkdirSync(reports, { recursive: true });
    // Hypothesis keeps its example database in the working directory: a scratch one.
    const scratch = mkdtempSync(join(tmpdir(), 'fineprint-schemathesis-'));
    const { code, output } = await run(
      ST as string,
      [
        'run',
        `${fp.url}/api/v1/openapi.json`,
        '--header',
        `Authorization: Bearer ${TEST_TOKEN}`,
        '--checks',
        CHECKS.join(','),
        '--max-examples',
        String(MAX_EXAMPLES),
        '--request-timeout',
        '30',
        '--report',
        'junit',
        '--report-dir',
        reports,
      ],
      scratch,
    ).finally(() => rmSync(scratch, { recursive: true, force: true }));
    expect(code, `schemathesis failed:\n${output.slice(-20_000)}`).toBe(0);
    // It really ran the document's operations (a document it could not load exits non-zero too).
    expect(output).toMatch(/Operations:\s+\d+ selected/);
  }, 300_000);
});
