// /healthz answers from a background check: a slow or hung dependency never makes it slow, and a
// check that does not answer in time reports the component down.
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { watchDocker, watchHealth, type HealthWatch } from '../../shared/health-watch.js';

const watches: HealthWatch[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const w of watches.splice(0)) w.stop();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A Docker engine on a unix socket that answers /_ping after `delayMs`, or never (Infinity). */
async function fakeEngine(delayMs: () => number): Promise<string> {
  const socket = join(mkdtempSync(join(tmpdir(), 'fp-health-')), 'docker.sock');
  const server = createServer((request, response) => {
    const delay = delayMs();
    if (delay !== Infinity) setTimeout(() => response.end('OK'), delay);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return socket;
}

describe('watchHealth', () => {
  it('answers from memory at once while the next check is slow, then takes its answer', async () => {
    let answer = { ok: true };
    let checks = 0;
    const watch = await watchHealth(async () => {
      checks += 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return answer;
    }, 10);
    watches.push(watch);
    answer = { ok: false };
    // The previous answer, while the check under way takes 200 ms.
    expect(watch.current()).toEqual({ ok: true });
    await expect.poll(() => watch.current(), { timeout: 5000 }).toEqual({ ok: false });
    expect(checks).toBeGreaterThan(1);
  });

  it('counts a check that ignores its signal as failed once it is late, and keeps checking', async () => {
    let hang = false;
    const watch = await watchHealth(
      () => (hang ? new Promise<never>(() => undefined) : Promise.resolve({ ok: true })),
      10,
      50,
    );
    watches.push(watch);
    hang = true;
    await expect.poll(() => watch.current(), { timeout: 5000 }).toEqual({ ok: false, detail: 'no answer within 100 ms' });
    hang = false;
    await expect.poll(() => watch.current(), { timeout: 5000 }).toEqual({ ok: true });
  });

  it('reports the Docker engine down when its ping does not answer within the timeout, and up again once it does', async () => {
    let delay = 0;
    const socket = await fakeEngine(() => delay);
    const watch = await watchDocker(new Docker({ socketPath: socket }), `unix://${socket}`, 20);
    watches.push(watch);
    expect(watch.current()).toEqual({ ok: true });
    delay = Infinity;
    await expect.poll(() => watch.current(), { timeout: 10_000 }).toEqual({ ok: false, detail: `cannot reach unix://${socket}` });
    delay = 0;
    await expect.poll(() => watch.current(), { timeout: 10_000 }).toEqual({ ok: true });
  });
});
