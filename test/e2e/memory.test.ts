// The memory curve and the exhausted limit on a real OOM kill: a container that grows slowly to its
// 64 MiB limit is killed, and its oom-kill incident shows how its memory rose to the limit and that
// its own limit (not a parent's, not the host's) ran out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentDetail } from '../../shared/incident.js';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { incidentDetail, startFineprint, type RunningFineprint } from '../support/fineprint.js';
import { onlyIncident } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = `fp-mem-${process.pid}-`;
const MiB = 1024 * 1024;
let fp: RunningFineprint;

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  fp = await startFineprint({ FINEPRINT_MEMORY_INTERVAL: '1' });
});

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('the memory of a container before its OOM kill', () => {
  it('is on its oom-kill incident as a curve rising to its own limit', async () => {
    const name = `${PREFIX}grows`;
    await runContainer(docker, {
      name,
      memory: 64 * MiB,
      // 4 MiB more every second until the limit kills it.
      cmd: ['sh', '-c', 'x=; while :; do x="$x$(head -c 4194304 /dev/zero | tr "\\0" a)"; sleep 1; done'],
    });
    const incident = await onlyIncident(fp.url, name, 'oom-kill', 120_000);
    const detail = await waitFor(
      async () => {
        const d: IncidentDetail = await incidentDetail(fp.url, incident.id);
        return d.memoryCurve && d.oomScope ? d : undefined;
      },
      30_000,
      `the memory curve and scope of ${name}`,
      250,
    );
    const curve = detail.memoryCurve!;
    expect(detail.oomScope).toBe('container');
    expect(curve.limitBytes).toBe(64 * MiB);
    expect(curve.points.length).toBeGreaterThanOrEqual(3);
    const bytes = curve.points.map((p) => p.bytes);
    // It rose: the last reading is the limit, well above the first.
    expect(bytes.at(-1)).toBe(64 * MiB);
    expect(bytes[0]).toBeLessThan(32 * MiB);
    expect(curve.growthBytesPerSec).toBeGreaterThan(0);
    expect(curve.from80ToKillMs).toBeGreaterThanOrEqual(0);
    expect(curve.points.map((p) => p.t)).toEqual([...curve.points.map((p) => p.t)].sort((a, b) => a - b));
  });
});
