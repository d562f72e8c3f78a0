// `fineprint demo` as a new user runs it: against a running all-in-one and a real Docker engine, it
// provokes the fine print, prints each incident with its link, and leaves no container behind,
// also when interrupted.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE, testDocker, testDockerSocket } from '../support/docker.js';
import { BIN, REPO_ROOT, startFineprint, type RunningFineprint } from '../support/fineprint.js';

const docker = testDocker();
const KB_IDS = ['oom-kill', 'pids-exhausted', 'crash-loop', 'unhealthy', 'sigterm-ignored'];
let fp: RunningFineprint;

/** Runs `fineprint demo ARGS` the way a user does; `onOutput` may act on what it printed so far. */
function demo(args: string[], env: Record<string, string>, onOutput?: (out: string, child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, [BIN, 'demo', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DOCKER_HOST: `unix://${testDockerSocket()}`, FINEPRINT_DATA_DIR: fp.dataDir, FINEPRINT_URL: fp.url, FINEPRINT_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const take = (d: Buffer) => {
    out += d.toString();
    onOutput?.(out, child);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return new Promise<{ code: number | null; out: string }>((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

const demoContainers = () => docker.listContainers({ all: true, filters: { label: ['fineprint.demo'] } });

beforeAll(async () => {
  // No FINEPRINT_ADMIN_TOKEN: the all-in-one generates one in its data dir, where the demo finds it.
  fp = await startFineprint({ FINEPRINT_ADMIN_TOKEN: '' });
});

afterAll(async () => {
  await fp?.stop();
});

describe('fineprint demo', () => {
  it('provokes five kinds of fine print, prints each incident with its link, and removes its containers', async () => {
    const { code, out } = await demo(['--image', TEST_IMAGE, '--timeout', '120'], {});
    expect(code, out).toBe(0);
    for (const kbId of KB_IDS) expect(out).toMatch(new RegExp(`${kbId} .*\\n.*\\n\\s+${fp.url.replace(/\./g, '\\.')}/#/incidents/\\S+`));
    expect(out).toContain('5 of 5 caught');
    expect(await demoContainers()).toEqual([]);
    // The incidents stay: the page's links lead somewhere.
    const token = readFileSync(join(fp.dataDir, 'admin-token'), 'utf8').trim();
    const links = [...out.matchAll(/\/#\/incidents\/(\S+)/g)];
    expect(links).toHaveLength(KB_IDS.length);
    for (const id of links) {
      const res = await fetch(`${fp.url}/api/v1/incidents/${id[1]}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    }
  });

  it('removes its containers when interrupted with Ctrl-C', async () => {
    let sent = false;
    const { code, out } = await demo(['--image', TEST_IMAGE], {}, (text, child) => {
      if (!sent && text.includes('waiting up to')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(code, out).toBe(130);
    expect(out).toContain('interrupted');
    expect(await demoContainers()).toEqual([]);
  });

  it('says clearly when no fineprint answers, and starts nothing', async () => {
    const { code, out } = await demo(['--image', TEST_IMAGE], { FINEPRINT_URL: 'http://127.0.0.1:9', FINEPRINT_TOKEN: 'a-token-of-sixteen-chars' });
    expect(code).toBe(2);
    expect(out).toMatch(/no fineprint answers at http:\/\/127\.0\.0\.1:9/);
    expect(await demoContainers()).toEqual([]);
  });
});
