// The collector's memory-pressure readings, from a container's memory cgroup (v1 files in a
// temporary directory, a stand-in Docker engine): limit hits count only while the memory the kernel
// cannot reclaim is above the threshold, and a long stretch above it is read out, not every reading.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { createMemorySource } from '../../services/collector/sources/memory.js';
import type { CollectorRecord, NormalizedEvent } from '../../shared/event.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { waitFor } from '../support/docker.js';

const MiB = 2 ** 20;
const ID = 'c'.repeat(64);

/** A v1 memory cgroup of a 64 MiB container: usage, page cache the kernel would reclaim first, limit hits. */
function cgroup(root: string, usage: number, inactiveFile: number, failcnt: number): void {
  const dir = join(root, 'memory', 'docker', ID);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'memory.usage_in_bytes'), `${usage}\n`);
  writeFileSync(join(dir, 'memory.limit_in_bytes'), `${64 * MiB}\n`);
  writeFileSync(join(dir, 'memory.failcnt'), `${failcnt}\n`);
  writeFileSync(join(dir, 'memory.stat'), `cache ${inactiveFile}\nrss ${usage - inactiveFile}\ninactive_file ${inactiveFile}\n`);
}

/** The engine calls the source makes, read-only: info, the running containers, an inspect. */
function engine(): Docker {
  const inspect = { Id: ID, Name: '/cache', Config: { Image: 'busybox' }, HostConfig: { Memory: 64 * MiB } };
  return {
    info: async () => ({ CgroupVersion: '1', CgroupDriver: 'cgroupfs' }),
    listContainers: async () => [{ Id: ID }],
    modem: {
      dial: ({ path }: { path: string }, callback: (err: unknown, stream: Readable) => void) =>
        callback(null, Readable.from([Buffer.from(JSON.stringify(path.startsWith('/containers/json') ? [{ Id: ID }] : inspect))])),
    },
  } as unknown as Docker;
}

/** When the container's latest reading was taken (the last point of its curve before now). */
const lastReadingAt = (source: ReturnType<typeof createMemorySource>): number => source.curveOf(ID, Number.MAX_SAFE_INTEGER)?.points.at(-2)?.t ?? 0;

async function pressureReadings(steps: [usage: number, inactiveFile: number, failcnt: number][]): Promise<NormalizedEvent[]> {
  const root = mkdtempSync(join(tmpdir(), 'fp-cgroup-'));
  const sent: NormalizedEvent[] = [];
  const [first, ...rest] = steps;
  cgroup(root, ...first!);
  let readings = 0;
  const source = createMemorySource(
    {
      host: 'h',
      docker: engine(),
      sink: { send: async (records: CollectorRecord[]) => void sent.push(...records.flatMap((r) => (r.type === 'event' ? [r.event] : []))) },
      cursors: { get: () => undefined, set: () => undefined, delete: () => undefined, names: () => [] },
      log: createLogger('test', 'silent'),
      metrics: pipelineMetrics(new MetricsRegistry()),
    },
    { intervalMs: 10, cgroupRoot: root, pressureFraction: 0.9, pressureForMs: 60_000 },
  );
  await source.start();
  for (const step of rest) {
    cgroup(root, ...step);
    // Two readings of each step: the first may have begun before it was written.
    let after = Date.now();
    for (const n of [1, 2]) after = await waitFor(async () => source.latest().find((r) => r.container.id === ID && r.bytes >= 0 && lastReadingAt(source) > after) && lastReadingAt(source), 5000, `reading ${n}`);
    readings++;
  }
  await source.stop();
  expect(readings).toBe(rest.length);
  return sent;
}

describe('memory pressure readings', () => {
  it('sends limit hits of a container above 90 % of its limit, once while it stays there, with its curve', async () => {
    const sent = await pressureReadings([
      [40 * MiB, 0, 0],
      [61 * MiB, MiB, 3],
      [62 * MiB, MiB, 9],
    ]);
    expect(sent.map((e) => [e.probe?.metric, e.probe?.value, e.container?.name])).toEqual([['container.memory_limit_hits', 3, 'cache']]);
    expect(sent[0]?.message).toBe('Container cache hit its 64.0 MiB memory limit 3 times since the last reading, at 93.8% of it');
    expect(sent[0]?.memoryCurve?.points.at(-1)?.bytes).toBe(60 * MiB);
  });

  it('sends nothing for limit hits of a container whose usage is page cache the kernel reclaims', async () => {
    const sent = await pressureReadings([
      [60 * MiB, 40 * MiB, 0],
      [63 * MiB, 43 * MiB, 50],
      [63 * MiB, 43 * MiB, 120],
    ]);
    expect(sent).toEqual([]);
  });
});
