// The sentence an incident is listed by, from evidence as the collector really sends it: kernel OOM
// lines from /dev/kmsg, Docker die events with their exit codes, a health check's last output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ContainerFacts } from '../../shared/event.js';
import { incidentSummary, LAST_WORDS_EVENT_PREFIX, MAX_QUOTED, type SummarizedEvidence } from '../../shared/incident-summary.js';

const MB = 1024 * 1024;
const ID = '5190e0c274f71804548b8d627f82e7bba41dff366e5ea4f67b190ff0f1673366';

function facts(over: Partial<ContainerFacts> = {}): ContainerFacts {
  return {
    v: 1,
    host: 'node-1',
    id: ID,
    name: 'nu-oom',
    image: 'busybox',
    observedAt: 1_795_773_600_000,
    limits: { memory: 0, memorySwap: 0, pids: 0, oomKillDisable: false, nanoCpus: 0 },
    restartPolicy: { name: 'no', maximumRetryCount: 0 },
    state: { status: 'exited', exitCode: 137, oomKilled: true, restartCount: 0, startedAt: '', finishedAt: '' },
    env: [],
    command: ['tail', '/dev/zero'],
    labels: {},
    user: '',
    init: false,
    hostname: 'nu',
    networkMode: 'none',
    privileged: false,
    logDriver: 'json-file',
    logOptions: {},
    ...over,
  };
}

const die = (ts: number, exitCode: number, name = 'nu-crash'): SummarizedEvidence => ({
  eventId: `docker:${ts}:die`,
  ts,
  action: 'die',
  exitCode,
  message: `container die ${ID} (exitCode=${exitCode}, image=busybox, name=${name})`,
});

// The kernel lines of a memcg OOM kill as /dev/kmsg gives them (header stripped by the kmsg source).
const OOM_LINES: SummarizedEvidence[] = [
  { eventId: `e1000`, ts: 1000, message: 'tail invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0' },
  { eventId: `e1000`, ts: 1000, message: 'memory: usage 16384kB, limit 16384kB, failcnt 31' },
  { eventId: `e1001`, ts: 1001, message: `oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=${ID},mems_allowed=0,oom_memcg=/docker/${ID},task_memcg=/docker/${ID},task=tail,pid=48213,uid=0` },
  { eventId: `e1001`, ts: 1001, message: 'Memory cgroup out of memory: Killed process 48213 (tail) total-vm:17640kB, anon-rss:16272kB, file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:72kB oom_score_adj:0' },
  { eventId: 'e1002', ts: 1002, action: 'oom', message: `container oom ${ID} (image=busybox, name=nu-oom)` },
  die(1010, 137, 'nu-oom'),
];

describe('incidentSummary', () => {
  it('names the killed process, the memory it used and the limit of an OOM kill', () => {
    const summary = incidentSummary({ kbId: 'oom-kill', title: 'OOM', subject: 'nu-oom', facts: facts({ limits: { ...facts().limits, memory: 16 * MB } }), evidence: OOM_LINES });
    expect(summary).toBe('nu-oom was OOM-killed: `tail` used 15.9 MiB of its 16 MiB limit');
  });

  it('reads a real OOM report recorded from /dev/kmsg (test/fixtures/real/oom.md)', () => {
    const recording = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'real', 'oom.md'), 'utf8');
    const kmsg = (/```kmsg\n([\s\S]*?)```/.exec(recording)?.[1] ?? '').split('\n').filter(Boolean);
    const evidence = kmsg.map((line, i) => ({ eventId: `e${i}`, ts: i, message: line.slice(line.indexOf(';') + 1) }));
    expect(evidence.length).toBeGreaterThan(100);
    expect(incidentSummary({ kbId: 'oom-kill', title: 'OOM', subject: 'hog', facts: null, evidence })).toBe('hog was OOM-killed: `sh` used 31.3 MiB of its 32 MiB limit');
  });

  it('falls back to the memcg usage and the facts when the kill line is missing (rate-limited by the kernel)', () => {
    const evidence = OOM_LINES.filter((e) => !e.message.includes('anon-rss') && !e.message.startsWith('memory:'));
    expect(incidentSummary({ kbId: 'oom-kill', title: 'OOM', subject: 'nu-oom', facts: facts({ limits: { ...facts().limits, memory: 32 * MB } }), evidence })).toBe(
      'nu-oom was OOM-killed at its 32 MiB limit: `tail` was killed',
    );
    // Only Docker's events and no facts: still a sentence, never the raw event.
    expect(incidentSummary({ kbId: 'oom-kill', title: 'OOM', subject: 'nu-oom', facts: null, evidence: OOM_LINES.slice(4) })).toBe('nu-oom was OOM-killed');
  });

  it('counts the exits of a crash loop, their span and code', () => {
    const evidence = [die(10_000, 1), die(10_900, 1), die(11_700, 1), die(12_600, 1), die(13_500, 1), die(14_700, 1)];
    expect(incidentSummary({ kbId: 'crash-loop', title: 'Crash loop', subject: 'nu-crash', evidence })).toBe('nu-crash exited 6 times in 4.7 s with code 1');
    expect(incidentSummary({ kbId: 'crash-loop', title: 'Crash loop', subject: 'nu-crash', evidence: [die(0, 3), die(150_000, 2), die(300_000, 3)] })).toBe(
      'nu-crash exited 3 times in 5 min with codes 2, 3',
    );
  });

  it("quotes the health check's last output, on one line and bounded", () => {
    const health = { status: 'unhealthy', failingStreak: 2, lastOutput: 'curl: (7) Failed to connect to localhost port 8080\n' };
    expect(incidentSummary({ kbId: 'unhealthy', title: 'Unhealthy', subject: 'nu-unhealthy', facts: facts({ health }), evidence: [] })).toBe(
      'nu-unhealthy failed its health check twice: `curl: (7) Failed to connect to localhost port 8080`',
    );
    const long = incidentSummary({ kbId: 'unhealthy', title: 'Unhealthy', subject: 'nu', facts: facts({ health: { status: 'unhealthy', failingStreak: 5, lastOutput: 'x'.repeat(5000) } }), evidence: [] });
    expect(long.length).toBeLessThan(MAX_QUOTED + 50);
    expect(incidentSummary({ kbId: 'unhealthy', title: 'Unhealthy', subject: 'nu', facts: facts({ health: { status: 'unhealthy', failingStreak: 1 } }), evidence: [] })).toBe('nu failed its health check once');
  });

  it('gives the pids limit a fork hit and the zombies counted', () => {
    const forkBomb = incidentSummary({ kbId: 'pids-exhausted', title: 'Pids', subject: 'nu-fork', facts: facts({ limits: { ...facts().limits, pids: 20 } }), evidence: [] });
    expect(forkBomb).toBe('nu-fork could not start a process: it reached its limit of 20 processes');
    const zombies = incidentSummary({ kbId: 'zombie-reaping', title: 'Zombies', subject: 'web', evidence: [{ eventId: `e1`, ts: 1, message: '3 zombie processes in container web' }] });
    expect(zombies).toBe('web has 3 zombie processes: its PID 1 does not reap its children');
  });

  it('quotes the failed write of a full disk', () => {
    const evidence = [
      { eventId: 'e5', ts: 5, message: 'dd: error writing \'/data/x\': No space left on device' },
      { eventId: 'e1', ts: 1, message: 'older' },
      // The container's last lines, joined when it died, are not the failure.
      { eventId: `${LAST_WORDS_EVENT_PREFIX}${ID}:9`, ts: 9, message: 'Last words (3 lines): 1024+0 records out' },
    ];
    expect(incidentSummary({ kbId: 'disk-full', title: 'Disk full', subject: 'nu-disk', evidence })).toBe("nu-disk ran out of space: `dd: error writing '/data/x': No space left on device`");
  });

  it('reads "<subject>: <title>" for an entry without a sentence of its own', () => {
    expect(incidentSummary({ kbId: 'hung-task', title: 'A task blocked for more than 120 s', subject: 'node-1', evidence: [{ eventId: `e1`, ts: 1, message: 'INFO: task x:1 blocked' }] })).toBe(
      'node-1: A task blocked for more than 120 s',
    );
  });
});
