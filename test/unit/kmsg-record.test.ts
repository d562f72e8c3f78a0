import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerIdsInCgroupPaths, OomKillTracker, parseKmsgRecord, unescapeKmsg } from '../../shared/kmsg/record.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'real');
const ID = 'df7a903ce36c5f21d4f6ec237a33d54eebf96daa59c6946fd6f3da00ab05b24c';
const OTHER = 'c0b513cec73f266b86f41be594dd204d92e50a572bcd352c319f9d4d64c27c60';

/** The /dev/kmsg records and the container id of a recorded fixture (test/fixtures/real/*.md). */
function fixture(name: string): { id: string; records: string[] } {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  const id = /Container id: `([0-9a-f]{64})`/.exec(text)?.[1] ?? '';
  const block = /```kmsg\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  return { id, records: block.split('\n').filter(Boolean) };
}

describe('parseKmsgRecord', () => {
  it('reads level, facility, sequence, time and message; drops continuation lines', () => {
    expect(parseKmsgRecord('3,510,942339309,-;Memory cgroup out of memory: Killed process 9521 (sh)\n SUBSYSTEM=memory\n')).toEqual({
      level: 3,
      facility: 0,
      seq: 510,
      tsUsec: 942339309,
      message: 'Memory cgroup out of memory: Killed process 9521 (sh)',
    });
    // Written by root to /dev/kmsg: user facility (1 << 3 | 3).
    expect(parseKmsgRecord('11,7,100,-,caller=T1;fineprint-test hello\n')).toMatchObject({ level: 3, facility: 1, message: 'fineprint-test hello' });
    // A message may begin with a space (call traces); only later lines are continuations.
    expect(parseKmsgRecord('4,431,942338838,-; <TASK>\n')?.message).toBe(' <TASK>');
  });

  it('decodes \\xNN escapes as UTF-8 and rejects what is not a record', () => {
    expect(unescapeKmsg('tab\\x09end \\x5cx41 caf\\xc3\\xa9')).toBe('tab\tend \\x41 café');
    expect(parseKmsgRecord('6,1,2,-;a\\x0ab\n')?.message).toBe('a\nb');
    expect(parseKmsgRecord('not a record')).toBeUndefined();
  });
});

describe('containerIdsInCgroupPaths', () => {
  it('finds ids in cgroupfs and systemd paths, once each', () => {
    expect(containerIdsInCgroupPaths(`oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/docker/${ID},task_memcg=/docker/${ID},task=sh`)).toEqual([ID]);
    expect(containerIdsInCgroupPaths(`cgroup: fork rejected by pids controller in /system.slice/docker-${OTHER}.scope`)).toEqual([OTHER]);
    expect(containerIdsInCgroupPaths(`4:memory:/docker/${ID}\n0::/system.slice/docker-${OTHER}.scope\n`)).toEqual([ID, OTHER]);
  });

  it('ignores ids outside cgroup paths and truncated ids', () => {
    expect(containerIdsInCgroupPaths(`cpuset=${ID},mems_allowed=0`)).toEqual([]);
    expect(containerIdsInCgroupPaths(`/docker/${ID.slice(0, 12)}`)).toEqual([]);
    expect(containerIdsInCgroupPaths(`/docker/${ID}ab`)).toEqual([]);
  });
});

describe('OomKillTracker on recorded kernel OOM reports', () => {
  it('attributes the "Killed process" line of a real memcg OOM kill to its container', () => {
    const { id, records } = fixture('oom.md');
    const tracker = new OomKillTracker();
    const attributed = records.flatMap((line) => {
      const record = parseKmsgRecord(`${line}\n`);
      if (!record) throw new Error(`unparsable fixture line: ${line}`);
      const container = tracker.containerOf(record);
      return container ? [[record.message.slice(0, 30), container]] : [];
    });
    expect(attributed).toContainEqual(['oom-kill:constraint=CONSTRAINT', id]);
    expect(attributed).toContainEqual(['Memory cgroup out of memory: K', id]);
  });

  it('finds the container of a real pids-controller line', () => {
    const { id, records } = fixture('pids.md');
    const tracker = new OomKillTracker();
    const line = records.find((r) => r.includes('fork rejected by pids controller'));
    expect(tracker.containerOf(parseKmsgRecord(`${line}\n`)!)).toBe(id);
  });

  it('forgets an OOM victim after 10 s and never guesses for another pid', () => {
    const tracker = new OomKillTracker();
    tracker.containerOf({ message: `oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/docker/${ID},task_memcg=/docker/${ID},task=sh,pid=1234,uid=0`, tsUsec: 1_000_000 });
    const killed = (pid: number, tsUsec: number) => tracker.containerOf({ message: `Memory cgroup out of memory: Killed process ${pid} (sh) total-vm:1kB`, tsUsec });
    expect(killed(999, 1_000_100)).toBeUndefined();
    expect(killed(1234, 1_000_100)).toBe(ID);
    expect(killed(1234, 12_000_000)).toBeUndefined();
  });
});
