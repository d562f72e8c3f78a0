// The real-Docker scenarios every deployment mode must turn into exactly one incident each. The
// all-in-one and the distributed suites run the same table against their own API.
import { writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import type Docker from 'dockerode';
import type { Incident } from '../../shared/incident.js';
import { runContainer, waitFor } from './docker.js';
import { incidentDetail, incidentsOf } from './fineprint.js';

const MB = 1024 * 1024;
/** Allocates ~100 MB in the shell: far past a 32 MB limit. */
export const ALLOCATE = ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'];

export interface ContainerScenario {
  title: string;
  kbId: string;
  timeoutMs?: number;
  run(docker: Docker, name: string): Promise<void>;
  /** Further checks on the incident's detail (evidence, facts). */
  check?(detail: Awaited<ReturnType<typeof incidentDetail>>): void;
  /** The summary sentence the incident of container `name` must read (escape `name` with escapeRegExp). */
  summary?(name: string): RegExp;
}

/** `text` matched literally inside a RegExp. */
export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const CONTAINER_SCENARIOS: ContainerScenario[] = [
  {
    title: 'an OOM kill under --memory',
    kbId: 'oom-kill',
    run: async (docker, name) => {
      // The kernel rate-limits its OOM report (10 per 5 s; 14 quick kills here printed 10
      // summaries): without the summary the kernel lines name no container. Earlier tests kill
      // in bursts, so wait the window out before asserting this kill's kernel lines.
      await new Promise((resolve) => setTimeout(resolve, 5500));
      await runContainer(docker, { name, cmd: ALLOCATE, memory: 32 * MB });
    },
    check: (detail) => {
      expect(detail.severity).toBe('critical');
      expect(detail.count).toBe(1);
      expect(detail.evidence.map((e) => e.action)).toEqual(expect.arrayContaining(['oom', 'die']));
      // The engine repeats its `oom` event for one kill (on cgroup v2, at every memory.events change): one is kept.
      expect(detail.evidence.filter((e) => e.action === 'oom')).toHaveLength(1);
      expect(detail.evidence.some((e) => e.kind === 'kernel')).toBe(true);
      expect(detail.evidence.find((e) => e.action === 'die')?.exitCode).toBe(137);
      expect(detail.kb?.why).toMatch(/memory/i);
      expect(detail.facts?.limits.memory).toBe(32 * MB);
    },
    // The kernel's kill line names the process (the shell or the `tr` filling its pipe) and its resident memory.
    summary: (name) => new RegExp(`^${escapeRegExp(name)} was OOM-killed: \`(?:sh|tr|head)\` used \\d+(?:\\.\\d)? MiB of its 32 MiB limit$`),
  },
  {
    title: 'a fork bomb against --pids-limit',
    kbId: 'pids-exhausted',
    run: async (docker, name) => void (await runContainer(docker, { name, pidsLimit: 20, cmd: ['sh', '-c', 'for i in $(seq 40); do sleep 300 & done; sleep 300'] })),
    check: (detail) => expect(detail.facts?.limits.pids).toBe(20),
    summary: (name) => new RegExp(`^${escapeRegExp(name)} could not start a process: it reached its limit of 20 processes$`),
  },
  {
    title: 'a crash loop under a restart policy',
    kbId: 'crash-loop',
    timeoutMs: 60_000,
    run: async (docker, name) => void (await runContainer(docker, { name, restart: { name: 'on-failure', maximumRetryCount: 3 }, cmd: ['sh', '-c', 'exit 3'] })),
    check: (detail) => expect(detail.evidence.filter((e) => e.action === 'die').length).toBeGreaterThanOrEqual(3),
    // The first run and up to three restarts, all `exit 3`.
    summary: (name) => new RegExp(`^${escapeRegExp(name)} exited [34] times in \\d+(?:\\.\\d)? s with code 3$`),
  },
  {
    title: 'a failing health check',
    kbId: 'unhealthy',
    run: async (docker, name) =>
      void (await runContainer(docker, { name, cmd: ['sleep', '300'], healthcheck: { test: ['CMD-SHELL', 'echo database not ready; exit 1'], intervalMs: 1000, timeoutMs: 1000, retries: 1 } })),
    // The health check's last output, quoted.
    summary: (name) => new RegExp(`^${escapeRegExp(name)} failed its health check (?:once|twice|\\d+ times): \`database not ready\`$`),
  },
  {
    title: 'PID 1 ignoring SIGTERM, then docker stop',
    kbId: 'sigterm-ignored',
    run: async (docker, name) => {
      const container = await runContainer(docker, { name, cmd: ['sh', '-c', 'trap "" TERM; while true; do sleep 1; done'] });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await container.stop({ t: 2 });
    },
    check: (detail) => expect(detail.evidence.map((e) => e.action)).toEqual(expect.arrayContaining(['kill', 'die'])),
  },
  {
    title: 'a write past a small tmpfs',
    kbId: 'disk-full',
    run: async (docker, name) =>
      void (await runContainer(docker, { name, tmpfs: { '/data': 'size=1m' }, cmd: ['sh', '-c', 'dd if=/dev/zero of=/data/x bs=1024 count=4096; sleep 300'] })),
    check: (detail) => {
      // The fix fits the place: the container's 1 MiB tmpfs at /data, not the host's Docker disk.
      expect(detail.facts?.mounts).toContainEqual({ type: 'tmpfs', destination: '/data', readOnly: false, sizeBytes: MB });
      const note = detail.evidence.find((e) => e.note)?.note;
      expect(note).toMatch(/^\/data\/x is on the tmpfs mounted at \/data, limited to 1 MB of memory, not on the host disk/);
      expect(note).toContain('--tmpfs /data:size=64m');
    },
    summary: (name) => new RegExp(`^${escapeRegExp(name)} ran out of space: \`[^\`]*/data/x[^\`]*No space left on device\`$`),
  },
  {
    title: 'a PID 1 that never reaps its children',
    kbId: 'zombie-reaping',
    run: async (docker, name) => void (await runContainer(docker, { name, cmd: ['sh', '-c', 'sleep 1 & exec sleep 300'] })),
  },
];

/** Kernel lines that cannot be provoked safely, injected through /dev/kmsg (root only). */
export const KERNEL_SCENARIOS: [kbId: string, line: string][] = [
  ['hung-task', 'INFO: task fp-e2e-worker:4242 blocked for more than 120 seconds.'],
  ['unregister-netdevice', 'unregister_netdevice: waiting for lo to become free. Usage count = 1'],
  ['conntrack-full', 'nf_conntrack: table full, dropping packet'],
];

export function injectKernelLine(line: string): void {
  // The trailing newline ends the record: without it the kernel holds it open for a continuation.
  writeFileSync('/dev/kmsg', `<3>${line}\n`);
}

/** The sum of a metric's series in a Prometheus text exposition; undefined when it has none. */
function metricTotal(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const metricsOf = async (url: string): Promise<string> => (await fetch(`${url}/metrics`)).text();

/**
 * The barrier before a "nothing else arrived" check: waits until the fineprint at `url` has
 * classified as many records as its collector had read when this was called. In the all-in-one
 * the classifier files what it classified in the same step, so every signal read so far is in the
 * store. A distributed api reads nothing itself (no collector series): false, no barrier here.
 */
export async function classifiedWhatWasRead(url: string, timeoutMs = 30_000): Promise<boolean> {
  const read = metricTotal(await metricsOf(url), 'fineprint_events_received_total');
  if (read === undefined) return false;
  await waitFor(
    async () => ((metricTotal(await metricsOf(url), 'fineprint_records_classified_total') ?? 0) >= read ? true : undefined),
    timeoutMs,
    `the ${read} records read by ${url} classified`,
  );
  return true;
}

/**
 * Late signals (kernel lines, die events) must merge, not split: on an all-in-one, wait until
 * everything read so far is filed. The distributed api has no counter to wait on: there, give the
 * late signals the time the pipeline takes (collector -> Kafka -> classifier -> Kafka -> api).
 */
async function lateSignalsFiled(url: string, distributedMs: number): Promise<void> {
  if (!(await classifiedWhatWasRead(url))) await new Promise((resolve) => setTimeout(resolve, distributedMs));
}

/** Waits until the container has an incident of `kbId`, then checks it is its only incident. */
export async function onlyIncident(url: string, container: string, kbId: string, timeoutMs = 30_000): Promise<Incident> {
  const found = await waitFor(
    async () => (await incidentsOf(url, { container })).find((i) => i.kbId === kbId),
    timeoutMs,
    `a ${kbId} incident for ${container}`,
  );
  await lateSignalsFiled(url, 2500);
  const all = await incidentsOf(url, { container });
  expect(all.map((i) => i.kbId)).toEqual([kbId]);
  expect(all[0]?.container?.name).toBe(container);
  // Kernel lines name only the cgroup id: none may have filed a second, id-named incident.
  const byId = await incidentsOf(url, { container: found.container?.id ?? '' });
  expect(byId.map((i) => i.id)).toEqual([found.id]);
  return all[0] ?? found;
}

/** Runs a container that allocates past its 32 MB limit; resolves once it was OOM-killed. */
export async function oomKill(docker: Docker, name: string): Promise<void> {
  const container = await runContainer(docker, { name, cmd: ALLOCATE, memory: 32 * MB });
  await container.wait();
}

/**
 * Nothing lost, nothing doubled: every named container ends with exactly one incident, an oom-kill
 * of count 1 (and on `host` when given). Waits for each, then looks again once late signals are filed.
 */
export async function expectOneOomEach(url: string, names: string[], options: { host?: string; timeoutMs?: number } = {}): Promise<void> {
  const where: Record<string, string> = options.host ? { host: options.host } : {};
  for (const name of names) {
    // Complete: the incident with its `die` (evidence of one incident can arrive in several writes).
    await waitFor(
      async () => {
        const [incident] = await incidentsOf(url, { container: name, kb: 'oom-kill', ...where });
        return incident && (await incidentDetail(url, incident.id)).evidence.some((e) => e.action === 'die') ? incident : undefined;
      },
      options.timeoutMs ?? 90_000,
      `the oom-kill incident of ${name} with its die event`,
      250,
    );
  }
  await lateSignalsFiled(url, 3000);
  for (const name of names) {
    const incidents = await incidentsOf(url, { container: name, ...where });
    expect(incidents.map((i) => [i.kbId, i.count]), name).toEqual([['oom-kill', 1]]);
    // Evidence is keyed by event id: a replayed or reconciled `die` must not be a second one.
    const evidence = (await incidentDetail(url, incidents[0]?.id ?? '')).evidence;
    expect(evidence.filter((e) => e.action === 'die').map((e) => e.exitCode), `${name}: die evidence`).toEqual([137]);
  }
}

export async function onlyHostIncident(url: string, kbId: string): Promise<Incident> {
  const incident = await waitFor(async () => (await incidentsOf(url, { kb: kbId })).find((i) => i.container === null), 20_000, `a host-level ${kbId} incident`);
  await lateSignalsFiled(url, 1000);
  expect(await incidentsOf(url, { kb: kbId })).toHaveLength(1);
  return incident;
}
