// Test helpers for the private Docker engine started by scripts/services/dockerd.sh.
// Every container made here has NetworkMode "none": the daemon runs with --bridge=none and this
// machine allows loopback traffic only, so no test container may ever get a network.
import path from 'node:path';
import Docker from 'dockerode';
import { PACKAGE_ROOT } from '../../shared/paths.js';

export const TEST_IMAGE = 'fineprint-test/busybox:latest';

const DEFAULT_SOCKET = path.join(PACKAGE_ROOT, '.cache', 'dockerd', 'docker.sock');

/** Socket path of the test daemon: DOCKER_HOST (unix:// only), else the repo's private daemon. */
export function testDockerSocket(): string {
  const host = process.env.DOCKER_HOST;
  if (!host) return DEFAULT_SOCKET;
  if (!host.startsWith('unix://')) {
    throw new Error(`DOCKER_HOST must be a unix:// socket for tests (got ${host})`);
  }
  return host.slice('unix://'.length);
}

export function testDocker(): Docker {
  return new Docker({ socketPath: testDockerSocket() });
}

export interface HealthcheckOptions {
  /** As in the Engine API: ['CMD-SHELL', 'exit 1'] or ['CMD', 'sh', '-c', '...']. */
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

export interface RunContainerOptions {
  name: string;
  cmd: string[];
  /** Bytes. Swap is disabled too (MemorySwap = Memory) unless memorySwap says otherwise. */
  memory?: number;
  memorySwap?: number;
  pidsLimit?: number;
  restart?: { name: string; maximumRetryCount?: number };
  healthcheck?: HealthcheckOptions;
  /** Mount point → options, e.g. { '/data': 'size=1m' }. */
  tmpfs?: Record<string, string>;
  env?: string[];
  /** Runs docker-init (tini) as PID 1. */
  init?: boolean;
  labels?: Record<string, string>;
  image?: string;
  /** Joins this container's network namespace (`--network container:<name>`) instead of none: loopback only. */
  shareNetworkWith?: string;
  /** Volume or bind mounts, as in `-v`: 'volume:/path'. */
  binds?: string[];
  /** `--hostname`; without a network the engine maps no hostname but localhost in /etc/hosts. */
  hostname?: string;
  /** `--rm`: the engine removes the container once it exited. */
  autoRemove?: boolean;
}

const MS = 1_000_000; // the Engine API wants nanoseconds

/** Creates and starts a container on the test image, always without a network. */
export async function runContainer(docker: Docker, opts: RunContainerOptions): Promise<Docker.Container> {
  const hostConfig: Docker.HostConfig = { NetworkMode: opts.shareNetworkWith ? `container:${opts.shareNetworkWith}` : 'none' };
  if (opts.binds) hostConfig.Binds = opts.binds;
  if (opts.memory !== undefined) {
    hostConfig.Memory = opts.memory;
    hostConfig.MemorySwap = opts.memorySwap ?? opts.memory;
  }
  if (opts.pidsLimit !== undefined) hostConfig.PidsLimit = opts.pidsLimit;
  if (opts.restart) {
    hostConfig.RestartPolicy = { Name: opts.restart.name, MaximumRetryCount: opts.restart.maximumRetryCount ?? 0 };
  }
  if (opts.tmpfs) hostConfig.Tmpfs = opts.tmpfs;
  if (opts.init !== undefined) hostConfig.Init = opts.init;
  if (opts.autoRemove) hostConfig.AutoRemove = true;

  const create: Docker.ContainerCreateOptions = {
    name: opts.name,
    Image: opts.image ?? TEST_IMAGE,
    Cmd: opts.cmd,
    ...(opts.hostname !== undefined && { Hostname: opts.hostname }),
    Env: opts.env ?? [],
    Labels: { 'fineprint.test': '1', ...opts.labels },
    HostConfig: hostConfig,
  };
  if (opts.healthcheck) {
    const h = opts.healthcheck;
    create.Healthcheck = {
      Test: h.test,
      ...(h.intervalMs !== undefined && { Interval: h.intervalMs * MS }),
      ...(h.timeoutMs !== undefined && { Timeout: h.timeoutMs * MS }),
      ...(h.retries !== undefined && { Retries: h.retries }),
      ...(h.startPeriodMs !== undefined && { StartPeriod: h.startPeriodMs * MS }),
    };
  }

  let container: Docker.Container;
  try {
    container = await docker.createContainer(create);
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404) {
      throw new Error(`image ${create.Image} is missing: run "bash scripts/services/dockerd.sh start" (and images.sh start for the systems' images)`, { cause: err });
    }
    throw err;
  }
  await container.start();
  return container;
}

/** Force-removes every container (running or not) whose name starts with namePrefix. */
export async function removeContainers(docker: Docker, namePrefix: string): Promise<void> {
  const all = await docker.listContainers({ all: true });
  const mine = all.filter((c) => c.Names.some((n) => n.replace(/^\//, '').startsWith(namePrefix)));
  await Promise.all(
    mine.map(async (c) => {
      try {
        await docker.getContainer(c.Id).remove({ force: true, v: true });
      } catch (err) {
        // Already gone (or being removed by the daemon's own cleanup) is fine.
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) throw err;
      }
    }),
  );
}

/** Non-TTY logs, demultiplexed (8-byte frame header: stream, 0, 0, 0, uint32 BE length). */
export async function containerLogs(container: Docker.Container): Promise<{ stdout: string; stderr: string }> {
  const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= raw.length) {
    const stream = raw[i];
    const size = raw.readUInt32BE(i + 4);
    const chunk = raw.subarray(i + 8, i + 8 + size);
    (stream === 2 ? err : out).push(chunk);
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Polls fn until it returns something other than undefined; throws naming `what` on timeout. */
export async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
