// The memory of a container before its OOM kill, on a real kill: a container grows slowly to just
// under its 64 MiB limit and stays there, which files a memory-pressure warning; told to go on, it
// is killed, and the kill joins the warning's incident, which becomes an oom-kill incident with the
// curve of its memory up to its own limit (not a parent's, not the host's). A second fineprint
// watches the same container through the Docker stats API (its cgroup root does not exist), as a
// collector that cannot see the host's cgroup fs does, and gets the same incident and curve.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentDetail } from '../../shared/incident.js';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { onSignedInPage } from '../support/browser.js';
import { incidentDetail, incidentsOf, startFineprint, type RunningFineprint } from '../support/fineprint.js';
import { onlyIncident } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = `fp-mem-${process.pid}-`;
const MiB = 1024 * 1024;
/** Readings every second; a warning after 5 s above 90 % of the limit. */
const MEMORY_ENV = { FINEPRINT_MEMORY_INTERVAL: '1', FINEPRINT_MEMORY_PRESSURE_FOR: '5' };
let cgroupFs: RunningFineprint;
let statsApi: RunningFineprint;
/** The incident of the kill, as the test below filed it. */
let killed: IncidentDetail | undefined;

/**
 * Adds 1 MiB variables until its usage without the inactive file cache (as read from its own
 * cgroup) is 94 % of its limit, waits there for SIGUSR1, then grows until the limit kills it.
 */
const GROW_HOLD_GROW = [
  'cg=/sys/fs/cgroup/memory; [ -e $cg/memory.usage_in_bytes ] || cg=/sys/fs/cgroup',
  'usage() { cat $cg/memory.usage_in_bytes 2>/dev/null || cat $cg/memory.current; }',
  `ws() { echo $(( $(usage) - $(awk '$1=="inactive_file"{print $2}' $cg/memory.stat) )); }`,
  'lim=$(cat $cg/memory.limit_in_bytes 2>/dev/null || cat $cg/memory.max)',
  'i=0',
  `grow() { i=$((i+1)); eval "v$i=\\$(head -c 1048576 /dev/zero | tr '\\\\0' a)"; }`,
  'go=; trap "go=1" USR1',
  'while [ $(ws) -lt $((lim / 100 * 94)) ]; do grow; done',
  'while [ -z "$go" ]; do sleep 1; done',
  'while :; do grow; done',
].join('\n');

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  [cgroupFs, statsApi] = await Promise.all([startFineprint(MEMORY_ENV), startFineprint({ ...MEMORY_ENV, FINEPRINT_CGROUP_ROOT: '/nonexistent-cgroup-root' })]);
});

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await Promise.all([cgroupFs?.stop(), statsApi?.stop()]);
});

describe('the memory of a container before its OOM kill', () => {
  it('files a memory-pressure warning first; the kill joins it as an oom-kill incident with a curve rising to its own limit (cgroup fs and Docker stats API)', async () => {
    const name = `${PREFIX}grows`;
    const container = await runContainer(docker, { name, memory: 64 * MiB, cmd: ['sh', '-c', GROW_HOLD_GROW] });

    const warnings = await Promise.all(
      [cgroupFs, statsApi].map(async (fp) => {
        const warning = await onlyIncident(fp.url, name, 'memory-pressure', 120_000);
        expect(warning).toMatchObject({ status: 'open', severity: 'medium', count: 1 });
        const detail = await incidentDetail(fp.url, warning.id);
        expect(detail.memoryCurve?.points.at(-1)?.bytes).toBeGreaterThanOrEqual(0.9 * 64 * MiB);
        return warning;
      }),
    );
    // Still alive: the warning came before any kill.
    expect((await container.inspect()).State.Running).toBe(true);

    await container.kill({ signal: 'USR1' });
    for (const [i, fp] of [cgroupFs, statsApi].entries()) {
      const detail = await waitFor(
        async () => {
          const d: IncidentDetail = await incidentDetail(fp.url, warnings[i]!.id);
          return d.kbId === 'oom-kill' && d.memoryCurve?.points.at(-1)?.bytes === 64 * MiB && d.oomScope && d.evidence.some((e) => e.action === 'die') ? d : undefined;
        },
        60_000,
        `the kill of ${name} joining its warning`,
        250,
      );
      // One incident from the warning to the kill: the warning's, raised to the kill's entry and
      // severity, with two occurrences (the warning, the kill) so its receivers hear of the kill.
      expect(detail).toMatchObject({ id: warnings[i]!.id, kbId: 'oom-kill', severity: 'critical', oomScope: 'container', count: 2 });
      expect((await incidentsOf(fp.url, { container: name })).map((inc) => inc.id)).toEqual([warnings[i]!.id]);
      expect(detail.evidence.some((e) => e.detector.startsWith('memory-pressure/'))).toBe(true);
      const curve = detail.memoryCurve!;
      expect(curve.limitBytes).toBe(64 * MiB);
      expect(curve.points.length).toBeGreaterThanOrEqual(3);
      // It rose: the last reading is the limit, well above the first.
      expect(curve.points[0]!.bytes).toBeLessThan(0.8 * 64 * MiB);
      expect(curve.growthBytesPerSec).toBeGreaterThan(0);
      expect(curve.from80ToKillMs).toBeGreaterThanOrEqual(5000);
      expect(curve.points.map((p) => p.t)).toEqual([...curve.points.map((p) => p.t)].sort((a, b) => a - b));
      if (fp === cgroupFs) killed = detail;
    }
  });

  it('the incident page draws the curve up to the limit and names the limit that was exhausted', async () => {
    if (!killed?.memoryCurve) throw new Error('the OOM kill of the test above');
    const curve = killed.memoryCurve;
    await onSignedInPage(cgroupFs.url, `#/incidents/${killed.id}`, async (page) => {
      const chart = page.locator('section.memory svg.memory-curve');
      await chart.waitFor();
      expect(await chart.getAttribute('aria-label')).toContain('up to the 64 MiB limit');
      // One point a reading, the last one on the dashed limit line at the top.
      const points = (await chart.locator('polyline').getAttribute('points'))?.trim().split(' ') ?? [];
      expect(points).toHaveLength(curve.points.length);
      const limitY = Number(await chart.locator('line').getAttribute('y1'));
      expect(Number(points.at(-1)?.split(',')[1])).toBeCloseTo(limitY, 1);
      expect(await page.locator('section.memory').textContent()).toContain("the container's own memory limit");
    });
  });
});
