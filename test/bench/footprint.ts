// Collector footprint: resident memory and CPU of a real `fineprint collector` process (real
// Kafka, the test dockerd, /dev/kmsg), idle and under a storm of 1,000 log lines per second from
// real containers. Baseline, sampled over the same windows: a bare Node.js process that loads
// dockerode and keeps its event loop alive (the floor of any Node.js Docker agent). The collector's
// figures include its child processes (the kmsg reader).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { removeContainers, runContainer, testDocker } from '../support/docker.js';
import { REPO_ROOT, startRole } from '../support/fineprint.js';
import { distributedEnv } from '../support/services.js';
import { deleteRunState } from './distributed.js';

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux architecture Node supports. */
export const TICKS_PER_SECOND = 100;
/** Containers of a 1,000 lines/s log storm. */
export const STORM_CONTAINERS = 4;
/** Lines per second each storm container writes (4 x 250 = 1,000/s). */
export const STORM_LINES_PER_CONTAINER = 250;

/** A container of the storm: a batch of matching lines (disk-full) ten times a second. */
export async function startStormContainer(docker: Docker, name: string): Promise<void> {
  const batch = STORM_LINES_PER_CONTAINER / 10;
  const script = `while :; do i=0; while [ $i -lt ${batch} ]; do echo "dd: error writing '/data/x$i': No space left on device"; i=$((i+1)); done; sleep 0.1; done`;
  await runContainer(docker, { name, cmd: ['sh', '-c', script] });
}

export interface Sample {
  /** Highest resident set seen during the window, MiB. */
  rssMiB: number;
  /** CPU used over the window, % of one core. */
  cpuPercent: number;
}

export interface FootprintResult {
  /** eventsPerSecond: what the test dockerd and kmsg produced meanwhile. */
  idle: { collector: Sample; bare: Sample; eventsPerSecond: number };
  storm: { collector: Sample; bare: Sample; eventsPerSecond: number };
  /** The collector's NODE_OPTIONS (docker-compose.yml's), empty when none. */
  nodeOptions: string;
  /** 1-minute load average at the start and the end of the measurement. */
  loadAverage: string;
}

/** CPU time a process used so far (user + system), in clock ticks. */
export function cpuTicks(pid: number): number {
  // Fields after the command (which may contain spaces): state is 3rd, utime 14th, stime 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The process and its children (the collector's kmsg reader). */
function withChildren(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return [pid, ...(children ? children.split(' ').map(Number) : [])];
}

/** Resident set of the process and its children, MiB. */
export function rssMiB(pid: number): number {
  let kib = 0;
  for (const p of withChildren(pid)) {
    try {
      kib += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? NaN);
    } catch {
      // A child that just exited.
    }
  }
  return kib / 1024;
}

/** CPU ticks of the process and its live children. */
function treeTicks(pid: number): number {
  let ticks = 0;
  for (const p of withChildren(pid)) {
    try {
      ticks += cpuTicks(p);
    } catch {
      // A child that just exited.
    }
  }
  return ticks;
}

/** Samples the processes every 500 ms over `ms`. */
export async function sampleWindow(pids: number[], ms: number): Promise<Sample[]> {
  const startTicks = pids.map(treeTicks);
  const peak = pids.map(rssMiB);
  const started = process.hrtime.bigint();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    pids.forEach((pid, i) => (peak[i] = Math.max(peak[i] as number, rssMiB(pid))));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return pids.map((pid, i) => ({
    rssMiB: peak[i] as number,
    cpuPercent: ((treeTicks(pid) - (startTicks[i] as number)) / TICKS_PER_SECOND / seconds) * 100,
  }));
}

/** The NODE_OPTIONS docker-compose.yml runs a role with (V8 heap flags), as a bench starts it the same way. */
export function composeNodeOptions(role: 'collector' | 'classifier' | 'api'): Record<string, string> {
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { environment?: Record<string, string> }> };
  const options = compose.services[role]?.environment?.NODE_OPTIONS;
  return options ? { NODE_OPTIONS: options } : {};
}

/** The baseline: a bare Node.js process that loads dockerode and keeps its event loop alive. */
export function spawnBareDockerode(): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', "import Docker from 'dockerode'; new Docker(); setInterval(() => {}, 1000);"], { cwd: REPO_ROOT, stdio: 'ignore' });
}

async function metric(url: string, line: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').at(-1) ?? 0);
}

async function metricSum(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').reduce((sum, l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `) ? sum + Number(l.split(' ').at(-1)) : sum), 0);
}

export async function collectorFootprint(windowMs: number): Promise<FootprintResult> {
  const docker = testDocker();
  const prefix = `fp-bench-storm-${process.pid}-`;
  await removeContainers(docker, prefix);
  const env: Record<string, string> = {
    ...distributedEnv(`bench-footprint-${process.pid}`),
    // Every storm line is forwarded, none discarded by the per-container limit.
    FINEPRINT_LOG_LINES_PER_SECOND: String(STORM_LINES_PER_CONTAINER * 2),
    FINEPRINT_PROBE_INTERVAL: '30',
    ...composeNodeOptions('collector'),
  };
  const loadAtStart = loadavg()[0] as number;
  const collector = await startRole('collector', env);
  const bare = spawnBareDockerode();
  try {
    const pids = [collector.child.pid as number, bare.pid as number];
    // Start-up work (KB compile, Kafka metadata, first inspect) is not idling.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    // The test dockerd and /dev/kmsg are shared with other tests: "idle" is whatever they cause.
    const idleBefore = await metricSum(collector.url, 'fineprint_events_received_total');
    const idleStarted = Date.now();
    const [idleCollector, idleBare] = await sampleWindow(pids, windowMs);
    const idleEventsPerSecond = ((await metricSum(collector.url, 'fineprint_events_received_total')) - idleBefore) / ((Date.now() - idleStarted) / 1000);

    for (let c = 0; c < STORM_CONTAINERS; c += 1) await startStormContainer(docker, `${prefix}${c}`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const receivedLine = 'fineprint_events_received_total{source="container-logs"}';
    const before = await metric(collector.url, receivedLine);
    const started = Date.now();
    const [stormCollector, stormBare] = await sampleWindow(pids, windowMs);
    const eventsPerSecond = ((await metric(collector.url, receivedLine)) - before) / ((Date.now() - started) / 1000);
    return {
      idle: { collector: idleCollector as Sample, bare: idleBare as Sample, eventsPerSecond: idleEventsPerSecond },
      storm: { collector: stormCollector as Sample, bare: stormBare as Sample, eventsPerSecond },
      nodeOptions: env.NODE_OPTIONS ?? '',
      loadAverage: `${loadAtStart.toFixed(1)} -> ${(loadavg()[0] as number).toFixed(1)}`,
    };
  } finally {
    bare.kill();
    await removeContainers(docker, prefix);
    await collector.stop();
    rmSync(collector.dataDir, { recursive: true, force: true });
    await deleteRunState(env);
  }
}
