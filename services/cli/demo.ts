// `fineprint demo`: shows a new user what fineprint catches, on their own Docker engine. It starts a
// few throwaway containers that hit the fine print (an OOM kill, a fork bomb, a crash loop, a failing
// health check, a PID 1 that ignores SIGTERM), waits for a running fineprint to file each as an
// incident, prints them with links to the page, and removes its containers, also on Ctrl-C.
// Creating containers is what the user asked for here; the collector and the API stay read-only.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type Docker from 'dockerode';
import { commonConfig, loadConfig } from '../../shared/config.js';
import { dockerClient, dockerConfig } from '../../shared/docker.js';
import { FineprintError } from '../../shared/errors.js';
import type { Incident } from '../../shared/incident.js';
import { adminTokenIn, clientConfig } from './api-client.js';

/** `fineprint demo` settings (docs/configuration.md). */
export const demoConfig = {
  ...commonConfig,
  ...dockerConfig,
  // The API a demo watches, as every client command reaches it.
  FINEPRINT_URL: clientConfig.FINEPRINT_URL,
  FINEPRINT_TOKEN: clientConfig.FINEPRINT_TOKEN,
};

/** Label on every demo container: its value is the demo run, so a run removes only its own. */
const DEMO_LABEL = 'fineprint.demo';

const MB = 1024 * 1024;
const MS = 1_000_000; // the Engine API wants nanoseconds

interface DemoCase {
  /** Suffix of the container name. */
  name: string;
  /** The KB entry fineprint should file. */
  kbId: string;
  /** What the container does, for the user. */
  what: string;
  create: Omit<Docker.ContainerCreateOptions, 'Image' | 'name' | 'Labels'>;
  /** After start: what the user would do next (e.g. `docker stop`). */
  then?(container: Docker.Container): Promise<void>;
}

const CASES: DemoCase[] = [
  {
    name: 'oom',
    kbId: 'oom-kill',
    what: 'allocates 100 MB under --memory 32m',
    create: {
      Cmd: ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'],
      HostConfig: { NetworkMode: 'none', Memory: 32 * MB, MemorySwap: 32 * MB },
    },
  },
  {
    name: 'fork-bomb',
    kbId: 'pids-exhausted',
    what: 'starts 40 processes under --pids-limit 20',
    create: { Cmd: ['sh', '-c', 'for i in $(seq 40); do sleep 300 & done; sleep 300'], HostConfig: { NetworkMode: 'none', PidsLimit: 20 } },
  },
  {
    name: 'crash-loop',
    kbId: 'crash-loop',
    what: 'exits 3 under --restart on-failure:3',
    create: { Cmd: ['sh', '-c', 'exit 3'], HostConfig: { NetworkMode: 'none', RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } },
  },
  {
    name: 'unhealthy',
    kbId: 'unhealthy',
    what: 'fails its health check',
    create: {
      Cmd: ['sleep', '300'],
      Healthcheck: { Test: ['CMD-SHELL', 'exit 1'], Interval: 1000 * MS, Timeout: 1000 * MS, Retries: 1 },
      HostConfig: { NetworkMode: 'none' },
    },
  },
  {
    name: 'sigterm',
    kbId: 'sigterm-ignored',
    what: 'ignores SIGTERM as PID 1, then gets `docker stop -t 2`',
    create: { Cmd: ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 1; done'], HostConfig: { NetworkMode: 'none' } },
    then: async (container) => {
      // The trap must be set before the stop: the shell says so.
      await until(async () => ((await container.logs({ stdout: true, follow: false })) as unknown as Buffer).includes('ready'), 10_000, 'the shell to trap SIGTERM');
      await container.stop({ t: 2 });
    },
  },
];

const USAGE = `Usage: fineprint demo [--image IMAGE] [--timeout SECONDS]

Starts throwaway containers on DOCKER_HOST that hit Docker's fine print (an OOM kill, a fork bomb,
a crash loop, a failing health check, a PID 1 ignoring SIGTERM), waits for the running fineprint
(FINEPRINT_URL, default http://127.0.0.1:7777; FINEPRINT_TOKEN, default the admin token in
FINEPRINT_DATA_DIR) to report each one, prints the incidents with links, and removes the containers
(also on Ctrl-C). The containers have no network and carry the label ${DEMO_LABEL}.

Options:
  --image IMAGE     Image with a POSIX shell, head, tr, seq and sleep (default busybox, pulled if absent)
  --timeout SECONDS How long to wait for the incidents (default 90)`;

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The API's incidents of one container (by name). */
async function incidentsOf(url: string, token: string, container: string): Promise<Incident[]> {
  const res = await fetch(`${url}/api/v1/incidents?${new URLSearchParams({ container, limit: '50' }).toString()}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new FineprintError(res.status === 401 ? 'FP_UNAUTHORIZED' : 'FP_INTERNAL', `${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  return ((await res.json()) as { incidents: Incident[] }).incidents;
}

async function ensureImage(docker: Docker, image: string, out: NodeJS.WritableStream): Promise<void> {
  try {
    await docker.getImage(image).inspect();
    return;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  out.write(`pulling ${image}...\n`);
  const stream = await docker.pull(image);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
}

async function removeRun(docker: Docker, run: string): Promise<void> {
  const mine = await docker.listContainers({ all: true, filters: { label: [`${DEMO_LABEL}=${run}`] } });
  await Promise.all(
    mine.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch((err: { statusCode?: number }) => {
          // Already gone, or being removed by the engine itself.
          if (err.statusCode !== 404 && err.statusCode !== 409) throw err;
        }),
    ),
  );
}

/** `fineprint demo`: exit 0 when every case became its incident, 1 when some did not in time. */
export async function demoCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { values } = parseArgs({ args, options: { image: { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const timeoutS = Number(values.timeout ?? 90);
  if (!Number.isInteger(timeoutS) || timeoutS < 1) throw new FineprintError('FP_BAD_REQUEST', `--timeout must be a whole number of seconds (got "${values.timeout}")`);
  const config = loadConfig(demoConfig);
  const url = config.FINEPRINT_URL.replace(/\/+$/, '');
  const token = config.FINEPRINT_TOKEN ?? adminTokenIn(config.FINEPRINT_DATA_DIR);
  const image = values.image ?? 'busybox:latest';
  const docker = dockerClient(config.DOCKER_HOST);

  // Both ends first: a demo that cannot be watched or cannot run leaves nothing behind.
  try {
    await incidentsOf(url, token, 'fineprint-demo-probe');
  } catch (err) {
    if (err instanceof FineprintError) throw err;
    throw new FineprintError('FP_CONFIG_INVALID', `no fineprint answers at ${url} (${(err as Error).message}): start one with \`fineprint start\` or set FINEPRINT_URL`);
  }
  try {
    await ensureImage(docker, image, out);
  } catch (err) {
    throw new FineprintError('FP_DOCKER_UNAVAILABLE', `cannot use image ${image} on ${config.DOCKER_HOST}: ${(err as Error).message}`);
  }

  const run = randomBytes(4).toString('hex');
  const cleanup = () => removeRun(docker, run);
  const interrupted = () => {
    out.write('\ninterrupted: removing the demo containers\n');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const started = await Promise.all(
      CASES.map(async (demo) => {
        const name = `fineprint-demo-${run}-${demo.name}`;
        const container = await docker.createContainer({ ...demo.create, Image: image, name, Labels: { [DEMO_LABEL]: run } });
        await container.start();
        out.write(`started ${name}: ${demo.what}\n`);
        await demo.then?.(container);
        return { demo, name };
      }),
    );
    out.write(`waiting up to ${timeoutS}s for ${url} to report them...\n\n`);
    const deadline = Date.now() + timeoutS * 1000;
    const found = new Map<string, Incident>();
    while (found.size < started.length && Date.now() < deadline) {
      for (const { demo, name } of started) {
        if (found.has(name)) continue;
        const incident = (await incidentsOf(url, token, name)).find((i) => i.kbId === demo.kbId);
        if (!incident) continue;
        found.set(name, incident);
        out.write(`  ${incident.kbId.padEnd(16)} ${incident.severity.padEnd(8)} ${name}\n    ${incident.title}\n    ${url}/#/incidents/${incident.id}\n`);
      }
      if (found.size < started.length) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const missed = started.filter(({ name }) => !found.has(name));
    for (const { demo, name } of missed) out.write(`  no ${demo.kbId} incident for ${name} within ${timeoutS}s\n`);
    out.write(`\n${found.size} of ${started.length} caught; removing the demo containers\n`);
    return missed.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
  }
}
