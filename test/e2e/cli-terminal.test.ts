// The command line at a terminal, through the real binary: --version, --help on every command,
// output into a closed pipe, KB id suggestions, logs for people, the token file named at every
// start, and a busy port as one line and exit 2.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, testDocker, testDockerSocket, waitFor } from '../support/docker.js';
import { BIN, REPO_ROOT, startFineprint, tempDataDir, TEST_TOKEN, type RunningFineprint } from '../support/fineprint.js';
import { oomKill } from '../support/scenarios.js';
import type { Incident, IncidentDetail } from '../../shared/incident.js';

const docker = testDocker();
const PREFIX = `fp-cli-terminal-${process.pid}-`;

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What no output of fineprint may contain: warnings Node or a dependency prints about itself. */
const DEPENDENCY_WARNING = /DeprecationWarning|ExperimentalWarning|FSTDEP|\(node:\d+\)/;

beforeAll(async () => removeContainers(docker, PREFIX));
afterAll(async () => removeContainers(docker, PREFIX));

describe('fineprint at a terminal', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(run(['--version'])).toMatchObject({ status: 0, stdout: `fineprint ${version}\n`, stderr: '' });
  });

  it('--help on every command prints its usage and runs nothing', () => {
    const commands = ['start', 'collector', 'classifier', 'api', 'classify', 'kb', 'config', 'audit', 'demo', 'incidents', 'silences', 'whoami', 'notify'];
    for (const command of commands) {
      // Settings that would make the command fail if it ran instead of printing its help.
      const res = run([command, '--help'], { FINEPRINT_API_PORT: 'not-a-port', DOCKER_HOST: 'unix:///nonexistent.sock', FINEPRINT_URL: 'http://127.0.0.1:9' });
      expect(res.status, `${command}: ${res.stderr}`).toBe(0);
      expect(res.stdout, command).toMatch(new RegExp(`^Usage: fineprint ${command}\\b`));
      expect(res.stderr, command).toBe('');
    }
    expect(run(['help', 'silences']).stdout).toMatch(/^Usage: fineprint silences <list\|add\|expire>/);
    const unknown = run(['frobnicate', '--help']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('output into a pipe its reader closed ends quietly, exit 0', () => {
    const dir = tempDataDir('fineprint-pipe-');
    const input = join(dir, 'dmesg.txt');
    // Far more output than a pipe buffers: the writer meets the closed pipe for sure.
    writeFileSync(input, '[ 5.1] nf_conntrack: table full, dropping packet\n'.repeat(50_000));
    const script = `"${process.execPath}" "${BIN}" classify "${input}" | head -n 1; echo "status=\${PIPESTATUS[0]}" >&2`;
    const res = spawnSync('bash', ['-c', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(res.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(res.stderr).toBe('status=0\n');
  });

  it('kb show with a partial id suggests the entries it may mean', () => {
    const res = run(['kb', 'show', 'oom']);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/^fineprint: no KB entry "oom"; did you mean oom-kill\b/);
    expect(run(['kb', 'show', 'zombie-reapng']).stderr).toContain('did you mean zombie-reaping?');
  });
});

describe('fineprint start at a terminal', () => {
  const dataDir = tempDataDir();
  let pretty: RunningFineprint;
  let json: RunningFineprint | undefined;
  afterAll(async () => {
    await pretty?.stop();
    await json?.stop();
  });

  it('logs for people with FINEPRINT_LOG_FORMAT=pretty: one line per incident filed, the token file, no dependency warnings', async () => {
    // FINEPRINT_ADMIN_TOKEN empty is unset: the admin token is generated into the data dir.
    pretty = await startFineprint({ FINEPRINT_LOG_FORMAT: 'pretty', FINEPRINT_LOG_LEVEL: 'info', FINEPRINT_ADMIN_TOKEN: '' }, dataDir);
    const tokenFile = join(dataDir, 'admin-token');
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(pretty.output()).toContain(`fineprint admin token (saved in ${tokenFile}): ${token}\n`);

    const name = `${PREFIX}oom`;
    await oomKill(docker, name);
    // Complete: its late signals (the die event after the OOM kill) filed too, each an update of the incident.
    const headers = { authorization: `Bearer ${token}` };
    const get = async <T>(path: string): Promise<T> => (await (await fetch(`${pretty.url}${path}`, { headers })).json()) as T;
    const id = await waitFor(async () => (await get<{ incidents: Incident[] }>(`/api/v1/incidents?kb=oom-kill&container=${name}`)).incidents[0]?.id, 60_000, `the OOM kill of ${name}`);
    await waitFor(async () => ((await get<IncidentDetail>(`/api/v1/incidents/${id}`)).evidence.some((e) => e.action === 'die') ? true : undefined), 60_000, 'its die event');
    const filed = pretty.output().split('\n').filter((l) => l.includes('Filed') && l.includes(name));
    expect(filed).toHaveLength(1);
    expect(filed[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d INFO  Filed critical incident: .* \\(${name}\\) incident=\\S+ kb=oom-kill severity=critical`));

    const lines = pretty.output().split('\n').filter(Boolean);
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(lines.some((l) => /^\d\d:\d\d:\d\d INFO {2}fineprint all-in-one started/.test(l))).toBe(true);
    expect(pretty.output()).not.toMatch(DEPENDENCY_WARNING);
    expect(await pretty.stop()).toBe(0);
  });

  it('logs for people by default when stderr is a terminal', async () => {
    // util-linux `script` runs fineprint on a pseudo-terminal, as a person's shell does.
    const child = spawn('script', ['-qfec', `exec "${process.execPath}" "${BIN}" start`, '/dev/null'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DOCKER_HOST: `unix://${testDockerSocket()}`, FINEPRINT_DATA_DIR: tempDataDir(), FINEPRINT_API_PORT: '0', FINEPRINT_ADMIN_TOKEN: TEST_TOKEN, FINEPRINT_LOG_LEVEL: 'info' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const url = await waitFor(async () => /API at (http:\/\/[\d.:]+)/.exec(out)?.[1], 60_000, 'fineprint on a terminal to start');
    // The pseudo-terminal closing hangs fineprint up: it ends with its terminal.
    child.kill('SIGTERM');
    await once(child, 'exit');
    await waitFor(async () => fetch(`${url}/healthz`).then(() => undefined, () => true), 30_000, 'fineprint to end with its terminal');
    expect(out).toMatch(/\d\d:\d\d:\d\d\S* \S*INFO \S* fineprint all-in-one started/);
    expect(out).toContain('\u001b[32mINFO');
    expect(out).not.toContain('{"level"');
  });

  it('logs JSON when not on a terminal, and names the token file again at the next start', async () => {
    json = await startFineprint({ FINEPRINT_LOG_LEVEL: 'info', FINEPRINT_ADMIN_TOKEN: '' }, dataDir);
    const out = json.output();
    expect(out).toContain(`fineprint admin token: ${join(dataDir, 'admin-token')}\n`);
    expect(out).not.toContain(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim());
    const logs = out.split('\n').filter((l) => l.startsWith('{'));
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) expect(JSON.parse(l)).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    expect(out.split('\n').filter((l) => /^\d\d:\d\d:\d\d /.test(l))).toEqual([]);
    expect(out).not.toMatch(DEPENDENCY_WARNING);
  });

  it('a busy port is one line naming the setting, exit 2, no stack trace', () => {
    const port = new URL(json!.url).port;
    const res = run(['start'], { FINEPRINT_API_PORT: port, FINEPRINT_DATA_DIR: tempDataDir(), FINEPRINT_STATUS_PORT: '0' });
    expect(res.status).toBe(2);
    expect(res.stderr).toBe(`fineprint: FP_CONFIG_INVALID: 127.0.0.1:${port} is already in use; stop what listens there or set FINEPRINT_API_PORT to another port\n`);
  });
});
