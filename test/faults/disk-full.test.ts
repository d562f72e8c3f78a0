// The data dir's disk full: the all-in-one's database lives on a small tmpfs that a filler file
// fills up, so its writes fail with ENOSPC (SQLITE_FULL) while containers keep being OOM-killed.
// fineprint must say so clearly, keep running, and once space is back file every kill exactly once.
// (The distributed collector's buffer on a full disk is in distributed.test.ts.)
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountSmallDisk, saysDiskFull, type SmallDisk } from '../support/disk.js';
import { removeContainers, testDocker, waitFor } from '../support/docker.js';
import { incidentsOf, startFineprint, type RunningFineprint } from '../support/fineprint.js';
import { expectOneOomEach, oomKill } from '../support/scenarios.js';

const docker = testDocker();
const PREFIX = `fp-faults-disk-${process.pid}-`;
let disk: SmallDisk;
let fp: RunningFineprint | undefined;

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  // 64 MB: room for the database of a short test, small enough to fill in a moment.
  disk = mountSmallDisk(64);
});

afterAll(async () => {
  await fp?.stop();
  await removeContainers(docker, PREFIX);
  disk?.unmount();
});

describe('the data dir disk full', () => {
  it('is reported, and once space is back every OOM kill is filed exactly once', async () => {
    fp = await startFineprint({}, path.join(disk.dir, 'data'));
    const before = `${PREFIX}before`;
    await oomKill(docker, before);
    await waitFor(async () => (await incidentsOf(fp!.url, { container: before }))[0], 60_000, 'the incident before the disk filled up');

    expect(disk.fill()).toBeGreaterThan(0);
    const during = [0, 1].map((i) => `${PREFIX}during-${i}`);
    for (const name of during) await oomKill(docker, name);
    await waitFor(async () => (saysDiskFull(fp!.output()) ? true : undefined), 60_000, 'a log line saying the disk is full');
    expect(fp.child.exitCode, 'fineprint keeps running on a full disk').toBeNull();

    disk.free();
    const after = `${PREFIX}after`;
    await oomKill(docker, after);
    await expectOneOomEach(fp.url, [before, ...during, after], { timeoutMs: 120_000 });
    expect(fp.child.exitCode).toBeNull();
  });
});
