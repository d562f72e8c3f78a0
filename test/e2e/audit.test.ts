// `fineprint audit` against real containers on the private test dockerd: one container per finding
// that can be provoked safely (always without a network), plus a clean one that yields no finding.
// The built CLI (dist/, `npm run build`) is run the way a user or a CI pipeline runs it.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_KB_IDS } from '../../shared/audit/checks.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { SEVERITY_ORDER, severityRank, type Severity } from '../../shared/kb/schema.js';
import { removeContainers, TEST_IMAGE, testDocker, testDockerSocket, waitFor } from '../support/docker.js';
import { BIN, incidentsOf, REPO_ROOT, risksOf, startFineprint } from '../support/fineprint.js';

const docker = testDocker();
const kb = loadKnowledgeBase();
const PREFIX = 'fp-audit-';
const MB = 1024 * 1024;
const STATEFUL_REPO = 'fineprint-test/rabbitmq';
const JVM_REPO = 'fineprint-test/openjdk';
const TAGS = [`${STATEFUL_REPO}:latest`, `${JVM_REPO}:latest`];
/** Never to appear in the audit's output: an env value and a secret-looking argument. */
const ENV_SECRET = `env-${randomBytes(8).toString('hex')}`;
const ARG_SECRET = `arg-${randomBytes(8).toString('hex')}`;

interface JsonFinding {
  container: { id: string; name: string; image: string } | null;
  kbId: string;
  severity: Severity;
  message: string;
  fix: string;
}

/** Everything the audit asks for: limits, rotation, an init, a non-root user, a restart policy. */
const CLEAN_HOST: Docker.HostConfig = {
  NetworkMode: 'none',
  Memory: 64 * MB,
  MemorySwap: 64 * MB,
  PidsLimit: 64,
  LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
  Init: true,
  RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
};

interface Case {
  /** Changes to the clean configuration that provoke the finding. */
  host?: Docker.HostConfig;
  create?: Partial<Docker.ContainerCreateOptions>;
  /** KB ids expected for this container, in any order (computed from the daemon where it matters). */
  expect: (info: { userns: boolean; oomKillDisable: boolean }) => string[];
}

const SLEEP = ['sleep', '3600'];
const CASES: Record<string, Case> = {
  clean: { host: { ReadonlyRootfs: true }, expect: () => [] },
  'no-memory': { host: { Memory: 0, MemorySwap: 0 }, expect: () => ['oom-kill'] },
  'no-pids': { host: { PidsLimit: undefined }, expect: () => ['pids-exhausted'] },
  'log-growth': { host: { LogConfig: { Type: 'json-file', Config: {} } }, expect: () => ['container-log-growth'] },
  privileged: { host: { Privileged: true }, expect: () => ['privileged-container'] },
  'cap-add': { host: { CapAdd: ['SYS_ADMIN'] }, expect: () => ['privileged-container'] },
  seccomp: { host: { SecurityOpt: ['seccomp=unconfined'] }, expect: () => ['privileged-container'] },
  'docker-sock': { host: { Binds: [`${testDockerSocket()}:/var/run/docker.sock:ro`] }, expect: () => ['privileged-container'] },
  'host-pid': { host: { PidMode: 'host' }, expect: () => ['host-namespaces'] },
  root: { create: { User: '' }, expect: ({ userns }) => (userns ? [] : ['userns-remap']) },
  'no-init-shell': {
    host: { Init: false },
    create: { Cmd: ['sh', '-c', `TOKEN=${ARG_SECRET}; sleep 3600 & sleep 3600 & wait`], Env: [`DB_PASSWORD=${ENV_SECRET}`] },
    expect: () => ['sigterm-ignored', 'zombie-reaping'],
  },
  'oom-kill-disable': { host: { OomKillDisable: true }, expect: ({ oomKillDisable }) => (oomKillDisable ? ['oom-kill-disabled'] : []) },
  'restart-no': { host: { RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } }, expect: () => ['restart-on-another-host'] },
  'big-rw': {
    create: { Cmd: ['sh', '-c', 'dd if=/dev/zero of=/tmp/big bs=1M count=120 2>/dev/null && exec sleep 3600'] },
    expect: () => ['copy-on-write-writes'],
  },
  stateful: {
    create: { Image: `${STATEFUL_REPO}:latest`, Volumes: { '/var/lib/rabbitmq': {} } },
    expect: () => ['hostname-dependent-state'],
  },
  jvm: { create: { Image: `${JVM_REPO}:latest` }, expect: () => ['jvm-heap'] },
};

const name = (key: string) => `${PREFIX}${key}`;
const ids = new Map<string, string>();
let daemon = { userns: false, oomKillDisable: false };

function audit(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, 'audit', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: `unix://${testDockerSocket()}`, FINEPRINT_LOG_LEVEL: 'warn', ...env },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function start(key: string, c: Case, containerName = name(key)): Promise<string> {
  const container = await docker.createContainer({
    name: containerName,
    Image: TEST_IMAGE,
    Cmd: SLEEP,
    User: '1000:1000',
    Env: [],
    Labels: { 'fineprint.test': '1' },
    ...c.create,
    // Always without a network, whatever the case changes.
    HostConfig: { ...CLEAN_HOST, ...c.host, NetworkMode: 'none' },
  });
  await container.start();
  return container.id;
}

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  const image = docker.getImage(TEST_IMAGE);
  await image.tag({ repo: STATEFUL_REPO, tag: 'latest' });
  await image.tag({ repo: JVM_REPO, tag: 'latest' });
  const info = (await docker.info()) as { SecurityOptions?: string[]; OomKillDisable?: boolean };
  daemon = {
    userns: (info.SecurityOptions ?? []).some((o) => /name=(userns|rootless)/.test(o)),
    oomKillDisable: info.OomKillDisable === true,
  };
  for (const [key, c] of Object.entries(CASES)) ids.set(key, await start(key, c));
  // The writable layer holds the 120 MB once dd is done.
  await waitFor(
    async () => {
      const inspect = (await docker.getContainer(ids.get('big-rw') ?? '').inspect({ size: true } as Docker.ContainerInspectOptions)) as { SizeRw?: number };
      return (inspect.SizeRw ?? 0) >= 120 * MB ? true : undefined;
    },
    60_000,
    'the big-rw container to write 120 MB',
    250,
  );
});

afterAll(async () => {
  // v: true also removes the stateful container's anonymous volume.
  await removeContainers(docker, PREFIX);
  for (const tag of TAGS) {
    try {
      await docker.getImage(tag).remove();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
});

describe('fineprint audit on the test dockerd', () => {
  let findings: JsonFinding[] = [];

  it('--json: each container has exactly the findings it was made for, the clean one none', () => {
    const { status, stdout, stderr } = audit(['--json']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    findings = JSON.parse(stdout) as JsonFinding[];
    for (const f of findings) {
      expect(Object.keys(f)).toEqual(['container', 'kbId', 'severity', 'message', 'fix']);
      expect(kb.byId.has(f.kbId), f.kbId).toBe(true);
      expect(CHECK_KB_IDS).toContain(f.kbId);
      expect(SEVERITY_ORDER).toContain(f.severity);
      expect(f.fix.length).toBeGreaterThan(10);
    }
    for (const [key, c] of Object.entries(CASES)) {
      const mine = findings.filter((f) => f.container?.name === name(key));
      expect(mine.map((f) => f.kbId).sort(), key).toEqual(c.expect(daemon).sort());
      for (const f of mine) {
        expect(f.container?.id).toBe(ids.get(key));
        expect(f.container?.image).toBe(c.create?.Image ?? TEST_IMAGE);
      }
    }
    // The details the findings are made of came from the real daemon.
    const byName = (key: string, kbId: string) => findings.find((f) => f.container?.name === name(key) && f.kbId === kbId);
    expect(byName('big-rw', 'copy-on-write-writes')?.message).toMatch(/12\d MB/);
    expect(byName('docker-sock', 'privileged-container')?.message).toContain('read-only');
    expect(byName('cap-add', 'privileged-container')).toMatchObject({ severity: 'high', message: expect.stringContaining('SYS_ADMIN') });
    expect(byName('stateful', 'hostname-dependent-state')?.message).toContain(ids.get('stateful')?.slice(0, 12));
    expect(byName('restart-no', 'restart-on-another-host')?.severity).toBe('low');
    if (daemon.oomKillDisable) expect(byName('oom-kill-disable', 'oom-kill-disabled')?.severity).toMatch(/^(high|low)$/);
    // Daemon-level findings carry no container.
    for (const f of findings.filter((x) => x.container === null)) expect(CHECK_KB_IDS).toContain(f.kbId);
    // Secrets stay out: neither the env value nor the secret-looking argument is printed.
    expect(stdout).not.toContain(ENV_SECRET);
    expect(stdout).not.toContain(ARG_SECRET);
    expect(byName('no-init-shell', 'zombie-reaping')?.message).toContain('TOKEN=[REDACTED]');
  });

  it('the table names every finding\'s KB id and fix under its container, and the clean container as clean', () => {
    const { status, stdout } = audit([]);
    expect(status).toBe(0);
    const blocks = stdout.split('\n\n');
    for (const [key, c] of Object.entries(CASES)) {
      const expected = c.expect(daemon);
      if (expected.length === 0) {
        expect(stdout).toMatch(new RegExp(`^no findings: .*\\b${name(key)}\\b`, 'm'));
        continue;
      }
      const block = blocks.find((b) => b.startsWith(`${name(key)}  (`));
      expect(block, key).toBeDefined();
      const lines = (block ?? '').split('\n').slice(1);
      expect(lines.filter((l) => /^ {2}[A-Z]/.test(l)).map((l) => l.trim().split(/\s+/)[1]).sort(), key).toEqual([...expected].sort());
      expect(lines.filter((l) => l.trim().startsWith('fix: '))).toHaveLength(expected.length);
    }
    for (const f of findings.filter((x) => x.container === null)) expect(stdout).toMatch(new RegExp(`^daemon\\n(.*\\n)*  ${f.severity.toUpperCase()} +${f.kbId} `, 'm'));
    expect(stdout).not.toContain(ENV_SECRET);
    expect(stdout).not.toContain(ARG_SECRET);
  });

  it('--fail-on exits 1 when a finding is at or above the severity, else 0', () => {
    const daemonWorst = Math.max(-1, ...findings.filter((f) => f.container === null).map((f) => severityRank(f.severity)));
    const expectedFor = (severity: Severity) => (daemonWorst >= severityRank(severity) ? 1 : 0);

    const all = audit(['--fail-on', 'high']);
    expect(all.status).toBe(1);
    expect(all.stderr).toMatch(/findings? at or above high/);
    expect(audit(['--fail-on', 'high', name('privileged')]).status).toBe(1);
    expect(audit(['--fail-on', 'high', name('clean')]).status).toBe(expectedFor('high'));
    expect(audit(['--fail-on', 'low', name('clean')]).status).toBe(expectedFor('low'));
    expect(audit(['--fail-on', 'medium', name('no-memory')]).status).toBe(1);
    expect(audit(['--fail-on', 'high', name('no-memory')]).status).toBe(expectedFor('high'));
    // Named containers: only those (and the daemon) are reported.
    const one = JSON.parse(audit(['--json', name('clean'), name('privileged')]).stdout) as JsonFinding[];
    expect(new Set(one.flatMap((f) => (f.container ? [f.container.name] : [])))).toEqual(new Set([name('privileged')]));
  });

  it('a bad severity, a missing container or an unreachable daemon exit 2 with a clear message', () => {
    const bad = audit(['--fail-on', 'severe']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--fail-on must be one of info, low, medium, high, critical (got "severe")');
    const missing = audit([`${PREFIX}does-not-exist`]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`no such container: ${PREFIX}does-not-exist`);
    const down = audit([], { DOCKER_HOST: 'unix:///nonexistent/fineprint-audit/docker.sock' });
    expect(down.status).toBe(2);
    expect(down.stderr).toContain('DOCKER_HOST=unix:///nonexistent/fineprint-audit/docker.sock');
    expect(down.stderr).toContain('cannot reach the Docker engine');
  });
});

describe('risks: the collector audits each container that starts', () => {
  it('keeps each finding as a risk of its container, never as an incident; a clean container has none; restarts change nothing', async () => {
    const fineprint = await startFineprint({ FINEPRINT_KMSG: 'off' });
    try {
      const keys = ['clean', 'no-memory', 'privileged', 'no-init-shell', 'restart-no'];
      const riskName = (key: string) => name(`risk-${key}`);
      for (const key of keys) await start(key, CASES[key] as Case, riskName(key));
      const risksOfCase = (key: string) => risksOf(fineprint.url, { container: riskName(key) });
      for (const key of keys.filter((k) => k !== 'clean')) {
        const expected = (CASES[key] as Case).expect(daemon).sort();
        const risks = await waitFor(
          async () => {
            const found = await risksOfCase(key);
            return found.length >= expected.length ? found : undefined;
          },
          60_000,
          `the risks of ${riskName(key)}`,
          250,
        );
        expect(risks.map((r) => r.kbId).sort(), key).toEqual(expected);
        for (const risk of risks) {
          expect(kb.byId.has(risk.kbId)).toBe(true);
          expect(risk.container).toMatchObject({ name: riskName(key), id: expect.stringMatching(/^[0-9a-f]{64}$/) });
          expect(risk.fix.length).toBeGreaterThan(0);
          expect(JSON.stringify(risk)).not.toContain(ENV_SECRET);
          expect(JSON.stringify(risk)).not.toContain(ARG_SECRET);
        }
        // The audit's findings are not incidents.
        expect(await incidentsOf(fineprint.url, { container: riskName(key) })).toEqual([]);
      }
      // A restart audits again and finds the same: the same risks, first seen as before.
      const before = await risksOfCase('privileged');
      await docker.getContainer(riskName('privileged')).restart({ t: 0 });
      await waitFor(
        async () => ((await risksOfCase('privileged')).every((r) => r.lastSeen > (before[0]?.lastSeen ?? '')) ? true : undefined),
        30_000,
        'the restarted container to be audited again',
        250,
      );
      expect((await risksOfCase('privileged')).map((r) => [r.id, r.kbId, r.firstSeen])).toEqual(before.map((r) => [r.id, r.kbId, r.firstSeen]));
      expect(await risksOfCase('clean')).toEqual([]);
    } finally {
      await fineprint.stop();
    }
  });
});
