// /dev/kmsg records overwritten before fineprint read them: while fineprint is stopped, more than the
// kernel's ring buffer holds is written to it, so on restart the records after its saved sequence
// cursor are partly gone. The gap is reported as such (a metric and a log line with the count),
// and what is still in the ring buffer is not lost.
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/docker.js';
import { incidentDetail, incidentsOf, startFineprint, tempDataDir, type RunningFineprint } from '../support/fineprint.js';
import { injectKernelLine } from '../support/scenarios.js';

let fp: RunningFineprint | undefined;
const tag = `fp${process.pid}x${Date.now().toString(36)}`;

/** Sequence numbers and texts of the records in the ring buffer now (a fresh reader starts at the oldest). */
function ringBuffer(): { seq: number; message: string }[] {
  const fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  const buffer = Buffer.alloc(8192);
  const records: { seq: number; message: string }[] = [];
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') continue; // overwritten under us by someone else's writes
        throw err;
      }
      const text = buffer.toString('utf8', 0, n);
      records.push({ seq: Number(text.split(',')[1]), message: text.slice(text.indexOf(';') + 1).split('\n')[0] ?? '' });
    }
  } finally {
    closeSync(fd);
  }
  return records;
}

/**
 * Evidence of the hung-task incidents whose message contains `text`. Host-level kernel lines of one
 * KB entry group into one incident per host, so the line is looked for in the evidence.
 */
async function hungTaskEvidence(url: string, text: string): Promise<string[]> {
  const found: string[] = [];
  for (const incident of await incidentsOf(url, { kb: 'hung-task' })) {
    for (const e of (await incidentDetail(url, incident.id)).evidence) if (e.message.includes(text)) found.push(e.eventId);
  }
  return found;
}

afterAll(async () => {
  await fp?.stop();
});

describe('kernel records overwritten before they were read', () => {
  it('are reported as a counted gap, and nothing after the gap is lost', async () => {
    const dataDir = tempDataDir();
    fp = await startFineprint({}, dataDir);
    injectKernelLine(`INFO: task ${tag}-seen:4242 blocked for more than 120 seconds.`);
    await waitFor(async () => (await hungTaskEvidence(fp!.url, `${tag}-seen`))[0], 60_000, 'the hung-task line read before the stop');
    await fp.stop(); // saves the kmsg cursor: boot id + last sequence number read
    fp = undefined;

    const lostLine = `INFO: task ${tag}-lost:4242 blocked for more than 120 seconds.`;
    injectKernelLine(lostLine);
    const lostSeq = ringBuffer().find((r) => r.message === lostLine)?.seq;
    expect(lostSeq, 'the record to be overwritten').toBeDefined();
    // Each write opens the device again: the kernel rate-limits writes per open file (10 per 5 s).
    const filler = `${tag} filler to overwrite the ring buffer ${'.'.repeat(160)}`;
    let written = 0;
    for (;;) {
      // Small batches with pauses: other readers of /dev/kmsg on this host (every 100 ms) keep up.
      for (let i = 0; i < 200; i++) injectKernelLine(`${filler} ${written++}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
      if ((ringBuffer()[0]?.seq ?? 0) > (lostSeq as number)) break;
      expect(written, 'the ring buffer to wrap within 200,000 records').toBeLessThan(200_000);
    }
    const keptLine = `INFO: task ${tag}-kept:4242 blocked for more than 120 seconds.`;
    injectKernelLine(keptLine);
    const oldest = ringBuffer()[0]?.seq as number;

    fp = await startFineprint({}, dataDir);
    await waitFor(async () => (await hungTaskEvidence(fp!.url, `${tag}-kept`))[0], 60_000, 'the hung-task line written after the gap');
    // At least the records between the saved cursor (before lostSeq) and the oldest still there.
    const atLeast = oldest - (lostSeq as number);
    const metrics = await (await fetch(`${fp.url}/metrics`)).text();
    const lost = Number(/^fineprint_kmsg_records_lost_total(?:\{\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(lost).toBeGreaterThanOrEqual(atLeast);
    const gapLog = fp
      .output()
      .split('\n')
      .find((l) => l.includes('overwritten before they were read'));
    expect(gapLog, 'a log line about the gap').toBeDefined();
    expect(Number(/"lost":(\d+)/.exec(gapLog ?? '')?.[1])).toBe(lost);
    // What was overwritten is gone, and said to be; nothing was made up for it.
    expect(await hungTaskEvidence(fp.url, `${tag}-lost`)).toEqual([]);
    expect(await hungTaskEvidence(fp.url, `${tag}-seen`)).toHaveLength(1);
    expect(await hungTaskEvidence(fp.url, `${tag}-kept`)).toHaveLength(1);
  });
});
