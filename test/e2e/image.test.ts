// fineprint's own image, as a user's `docker compose build` makes it: the Dockerfile built on the
// test engine (its base a Debian root filesystem with the machine's Node, fineprint-test/node from
// scripts/services/images.sh; `--network host` so its RUN steps reach the package registries), then
// run as collector, classifier and API the way docker-compose.yml runs them (read-only root, no new
// privileges, an init; the collector as root with only CAP_SYSLOG and the socket read-only), on the
// host's network talking to the test Kafka and Elasticsearch on loopback, each role's data dir a
// named volume as in the compose file. One real OOM kill must
// become one incident through the three containers.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import { removeContainers, testDocker, testDockerSocket, waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, REPO_ROOT, TEST_TOKEN } from '../support/fineprint.js';
import { expectOneOomEach, oomKill } from '../support/scenarios.js';
import { distributedEnv } from '../support/services.js';

const run = promisify(execFile);
const docker = testDocker();
const PREFIX = 'fp-image-';
const TAG = process.env.FINEPRINT_TEST_IMAGE_FINEPRINT ?? 'fineprint:e2e';
const NODE_IMAGE = process.env.FINEPRINT_TEST_IMAGE_NODE ?? 'fineprint-test/node:1';
const BUILD_TIMEOUT_MS = 15 * 60_000;

/** The docker CLI against the test engine. */
const dockerCli = (args: string[], timeout = 120_000) =>
  run('docker', args, { cwd: REPO_ROOT, env: { ...process.env, DOCKER_HOST: `unix://${testDockerSocket()}` }, timeout, maxBuffer: 64 * 1024 * 1024 });


/** The options docker-compose.yml gives every fineprint role. */
const HARDENED = ['--network', 'host', '--init', '--read-only', '--tmpfs', '/tmp:size=16m', '--security-opt', 'no-new-privileges:true', '--pids-limit', '256'];

describe("fineprint's image", () => {
  const env = distributedEnv('image-host');
  let buildSeconds = 0;
  let apiUrl = '';

  const role = (name: string, command: string, extra: string[], roleEnv: Record<string, string>) =>
    dockerCli(['run', '-d', '--name', `${PREFIX}${name}`, ...HARDENED, ...extra, ...Object.entries({ ...env, ...roleEnv }).flatMap(([k, v]) => ['-e', `${k}=${v}`]), TAG, command]);

  const logsOf = async (name: string) => {
    const { stdout, stderr } = await dockerCli(['logs', '--tail', '40', `${PREFIX}${name}`]).catch(() => ({ stdout: '', stderr: '(no logs)' }));
    return `--- ${name}\n${stdout}${stderr}`;
  };

  beforeAll(async () => {
    await removeContainers(docker, PREFIX);
    await dockerCli(['volume', 'rm', `${PREFIX}api-data`, `${PREFIX}collector-data`]).catch(() => undefined);
    // The test command starts the build in the background (scripts/services/fineprint-image.sh):
    // wait for it, then build again, which its layers answer at once (or which shows the error).
    const buildDir = process.env.FINEPRINT_TEST_IMAGE_BUILD_DIR;
    if (buildDir) await run('flock', [join(buildDir, 'build.lock'), 'true'], { timeout: BUILD_TIMEOUT_MS });
    const started = performance.now();
    await dockerCli(['build', '--force-rm', '--network', 'host', '--build-arg', `NODE_IMAGE=${NODE_IMAGE}`, '-t', TAG, '.'], BUILD_TIMEOUT_MS);
    buildSeconds = (performance.now() - started) / 1000;
    const result = buildDir ? join(buildDir, 'build.result') : '';
    const background = result && existsSync(result) ? (/^0 (\d+)/.exec(readFileSync(result, 'utf8').trim())?.[1] ?? '') : '';
    if (background) buildSeconds = Number(background);
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const statusPort = String(await freePort());
    await role('api', 'api', ['--volume', `${PREFIX}api-data:/var/lib/fineprint`], {
      FINEPRINT_API_HOST: '127.0.0.1',
      FINEPRINT_API_PORT: String(apiPort),
      FINEPRINT_ADMIN_TOKEN: TEST_TOKEN,
    });
    await role('classifier', 'classifier', [], { FINEPRINT_STATUS_HOST: '127.0.0.1', FINEPRINT_STATUS_PORT: statusPort });
    await role(
      'collector',
      'collector',
      [
        '--user', '0:0', '--cap-drop', 'ALL', '--cap-add', 'SYSLOG', '--device', '/dev/kmsg:/dev/kmsg:r', '--pid', 'host',
        '--volume', `${testDockerSocket()}:/var/run/docker.sock:ro`, '--volume', `${PREFIX}collector-data:/var/lib/fineprint`,
      ],
      { DOCKER_HOST: 'unix:///var/run/docker.sock', FINEPRINT_KMSG: '/dev/kmsg', FINEPRINT_STATUS_HOST: '127.0.0.1', FINEPRINT_STATUS_PORT: String(await freePort()) },
    );
    await waitFor(
      async () => (await fetch(`${apiUrl}/healthz`).catch(() => undefined))?.ok || undefined,
      120_000,
      'the API container to answer /healthz',
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\n${(await Promise.all(['api', 'classifier', 'collector'].map(logsOf))).join('\n')}`);
    });
  }, BUILD_TIMEOUT_MS + 180_000);

  afterAll(async () => {
    await removeContainers(docker, PREFIX);
    await dockerCli(['volume', 'rm', `${PREFIX}api-data`, `${PREFIX}collector-data`]).catch(() => undefined);
  });

  it('builds, and its runtime stage holds the production dependencies only', async () => {
    const { stdout } = await dockerCli(['image', 'inspect', TAG, '--format', '{{.Size}} {{.Config.User}} {{json .Config.Entrypoint}}']);
    const [size, user, entrypoint] = stdout.trim().split(' ');
    console.log(`fineprint image: built in ${buildSeconds.toFixed(0)} s, runtime stage ${(Number(size) / 1024 / 1024).toFixed(0)} MiB`);
    expect(user).toBe('node');
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['node', 'bin/fineprint.js']);
    const { stdout: dev } = await dockerCli(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', TAG, '-c', 'ls node_modules/vitest node_modules/typescript 2>&1 | head -n 2']);
    expect(dev).toMatch(/No such file/);
  });

  it('turns one real OOM kill into one incident through its collector, classifier and API containers', async () => {
    const name = `${PREFIX}oom`;
    await oomKill(docker, name);
    await expectOneOomEach(apiUrl, [name], { host: 'image-host' }).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\n${(await Promise.all(['api', 'classifier', 'collector'].map(logsOf))).join('\n')}`);
    });
    const [incident] = await incidentsOf(apiUrl, { container: name });
    const detail = await incidentDetail(apiUrl, incident?.id ?? '');
    expect(detail.kbId).toBe('oom-kill');
    expect(detail.facts?.limits.memory).toBe(32 * 1024 * 1024);
  });
});
