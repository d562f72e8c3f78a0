import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { MemoryCurve } from '../../shared/memory-curve.js';
import { DOCKER_TIMEOUT_MS } from './docker-api.js';

/** One memory reading of a container: usage in bytes at a time (ms since epoch). */
type MemoryPoint = MemoryCurve['points'][number];

/** What one read of a container's memory gives. */
export interface CgroupMemoryReading {
  /**
   * Usage without the inactive file cache, which the kernel reclaims before it kills anything:
   * what `docker stats` shows as usage.
   */
  bytes: number;
  /** Bytes; undefined when unlimited. */
  limitBytes?: number;
  /**
   * Times the cgroup hit its limit, cumulative: v2 `memory.events` `max` + `high`, v1
   * `memory.failcnt`. Rising means the kernel is reclaiming under the limit.
   */
  limitHits: number;
}

/** v1 reports "unlimited" as a page-rounded LONG_MAX, v2 as `max`. */
const UNLIMITED_V1 = 2 ** 62;

function limit(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === 'max') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) && value > 0 && value < UNLIMITED_V1 ? value : undefined;
}

function eventCount(events: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(events);
  return m ? Number(m[1]) : 0;
}

/** Usage minus `inactive_file` of a `memory.stat` text (absent: the usage), as `docker stats` computes it. */
function workingSet(usage: number, stat: string | undefined): number {
  const inactive = stat === undefined ? 0 : eventCount(stat, 'inactive_file');
  return Math.max(0, usage - inactive);
}

/**
 * Reads a memory cgroup directory: cgroup v2 (`memory.current`, `memory.max`, `memory.events`)
 * when it has them, else v1 (`memory.usage_in_bytes`, `memory.limit_in_bytes`, `memory.failcnt`),
 * and `memory.stat` for the inactive file cache left out of the usage. Rejects when the directory is gone (the container stopped) or unreadable.
 */
export async function readCgroupMemory(dir: string): Promise<CgroupMemoryReading> {
  const read = (file: string) => readFile(join(dir, file), 'utf8');
  const absent = (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  };
  // Without it (or unreadable) the usage is kept whole: never a reason to lose the reading.
  const stat = read('memory.stat').catch(() => undefined);
  const current = await read('memory.current').catch(absent);
  if (current !== undefined) {
    const [max, events] = await Promise.all([read('memory.max'), read('memory.events')]);
    const limitBytes = limit(max);
    return { bytes: workingSet(Number(current.trim()), await stat), ...(limitBytes ? { limitBytes } : {}), limitHits: eventCount(events, 'max') + eventCount(events, 'high') };
  }
  const [usage, max, failcnt] = await Promise.all([read('memory.usage_in_bytes'), read('memory.limit_in_bytes'), read('memory.failcnt')]);
  const limitBytes = limit(max);
  return { bytes: workingSet(Number(usage.trim()), await stat), ...(limitBytes ? { limitBytes } : {}), limitHits: Number(failcnt.trim()) };
}

/** The part of the Engine API's stats answer read here (cgroup v1 and v2 hosts). */
interface StatsMemory {
  memory_stats?: { usage?: number; limit?: number; failcnt?: number; stats?: { inactive_file?: number; total_inactive_file?: number } };
}

/**
 * Reads a container's memory from the Docker stats API (one sample, read-only), for a collector
 * that cannot see the host's cgroup fs. The same numbers as its cgroup files, except that a cgroup
 * v2 host reports no limit hits there (v1's `failcnt` it does). Undefined once the container stopped.
 */
export async function readDockerStatsMemory(docker: Docker, id: string): Promise<CgroupMemoryReading | undefined> {
  // The typings omit the request options; dockerode passes abortSignal through as for every call.
  const stats = docker.getContainer(id).stats as unknown as (opts: { stream: false; 'one-shot': true; abortSignal: AbortSignal }) => Promise<StatsMemory>;
  const memory = (await stats.call(docker.getContainer(id), { stream: false, 'one-shot': true, abortSignal: AbortSignal.timeout(DOCKER_TIMEOUT_MS) })).memory_stats;
  // A stopped container answers with empty memory stats.
  if (!memory?.usage) return undefined;
  const inactive = memory.stats?.inactive_file ?? memory.stats?.total_inactive_file ?? 0;
  const limitBytes = memory.limit !== undefined ? limit(String(memory.limit)) : undefined;
  return { bytes: Math.max(0, memory.usage - inactive), ...(limitBytes ? { limitBytes } : {}), limitHits: memory.failcnt ?? 0 };
}

/**
 * The memory cgroup directory of a container under the host's cgroup fs mount: v2 (one hierarchy)
 * or v1 (the `memory` controller's hierarchy), cgroupfs (`docker/<id>`) or systemd
 * (`system.slice/docker-<id>.scope`) driver.
 */
export function cgroupMemoryDir(cgroupRoot: string, version: 1 | 2, driver: 'cgroupfs' | 'systemd', id: string): string {
  const base = version === 2 ? cgroupRoot : join(cgroupRoot, 'memory');
  return driver === 'systemd' ? join(base, 'system.slice', `docker-${id}.scope`) : join(base, 'docker', id);
}

/**
 * The recent memory readings of one container, oldest first, at most `windowMs` old: a bounded
 * ring (a reading every few seconds over ten minutes is a few hundred numbers).
 */
export class MemoryRing {
  private readonly points: MemoryPoint[] = [];
  limitBytes: number;

  constructor(
    limitBytes: number,
    private readonly windowMs: number,
  ) {
    this.limitBytes = limitBytes;
  }

  push(point: MemoryPoint): void {
    this.points.push(point);
    const horizon = point.t - this.windowMs;
    let drop = 0;
    while (drop < this.points.length && (this.points[drop] as MemoryPoint).t < horizon) drop++;
    if (drop > 0) this.points.splice(0, drop);
  }

  /** The latest reading, if any. */
  get last(): MemoryPoint | undefined {
    return this.points.at(-1);
  }

  /** How long usage has stayed at or above `fraction` of the limit up to the latest reading, ms (0 if it is not). */
  aboveForMs(fraction: number): number {
    const threshold = this.limitBytes * fraction;
    const last = this.points.at(-1);
    if (!last || last.bytes < threshold) return 0;
    let since = last.t;
    for (let i = this.points.length - 1; i >= 0 && (this.points[i] as MemoryPoint).bytes >= threshold; i--) since = (this.points[i] as MemoryPoint).t;
    return last.t - since;
  }

  /**
   * The curve up to `endTs` (the kill). A container killed at its limit has usage at the limit at
   * that moment: the kill is the curve's last point when it came after the last reading.
   */
  curve(endTs: number, killed: boolean): MemoryCurve {
    const points = this.points.filter((p) => p.t <= endTs);
    const last = points.at(-1);
    if (killed && (!last || last.t < endTs)) points.push({ t: endTs, bytes: this.limitBytes });
    const threshold = this.limitBytes * 0.8;
    let crossed: number | undefined;
    for (let i = points.length - 1; i >= 0 && (points[i] as MemoryPoint).bytes >= threshold; i--) crossed = (points[i] as MemoryPoint).t;
    return {
      limitBytes: this.limitBytes,
      points,
      growthBytesPerSec: slope(points),
      ...(crossed !== undefined ? { from80ToKillMs: endTs - crossed } : {}),
    };
  }
}

/** Least-squares slope of bytes over time, bytes per second. */
function slope(points: readonly MemoryPoint[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const t0 = (points[0] as MemoryPoint).t;
  let st = 0;
  let sb = 0;
  for (const p of points) {
    st += (p.t - t0) / 1000;
    sb += p.bytes;
  }
  const mt = st / n;
  const mb = sb / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    const dt = (p.t - t0) / 1000 - mt;
    num += dt * (p.bytes - mb);
    den += dt * dt;
  }
  return den === 0 ? 0 : Math.round(num / den);
}
