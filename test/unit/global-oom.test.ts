// Which limit, and the culprit, for a global OOM (the host's memory ran out): the kernel's task dump
// of its OOM report names the processes using the most memory, the collector maps them to their
// containers and adds its latest container readings, and the incident carries them with scope host.
// Real report text only; a real global OOM cannot be caused safely on a shared test host.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileKb, createClassifier, FactsCache } from '../../services/classifier/index.js';
import { memoryUsersAt } from '../../services/collector/memory-users.js';
import { RECORD_VERSION, type NormalizedEvent } from '../../shared/event.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { parseTaskDump } from '../../shared/kmsg/oom-tasks.js';
import { OomReportAttributor, parseKmsgRecord, type AttributedRecord } from '../../shared/kmsg/record.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';

const PAGE = 4096;

/**
 * The end of a global OOM report of kernel 6.x (the 4.19+ task dump, without the rss_* columns),
 * quoted in a public kernelCTF write-up on out_of_memory(); `dmesg` prefixes, the call trace and
 * Mem-Info left out as there.
 */
const KERNEL_CTF = [
  '[  687.142364] enomem-1 invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0',
  '[  687.147143] Mem-Info:',
  '[  687.152814] Tasks state (memory values in pages):',
  '[  687.152894] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name',
  '[  687.153155] [    175]  1000   175     2715      192    69632        0             0 nsjail',
  '[  687.153529] [    178]  1000   178     1065      128    53248        0             0 bash',
  '[  687.153635] [    185]  1000   185   830068   829792  6705152        0             0 enomem-1',
  '[  687.153765] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=enomem-1,pid=185,uid=1000',
  '[  687.154225] Out of memory: Killed process 185 (enomem-1) total-vm:3320272kB, anon-rss:3319168kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:6548kB oom_score_adj:0',
].map((line) => line.replace(/^\[\s*[\d.]+\] /, ''));

/** Task dump rows of kernel 6.16 (rss_anon, rss_file, rss_shmem), a Docker swarm host's global OOM, quoted in inducer/relate#1383. */
const RELATE_6_16 = [
  '[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name',
  '[    375]     0   375    14010     2008      160     1848         0   102400      256          -250 systemd-journal',
  '[    718]     0   718    63376      897      160      737         0   110592      318             0 vmtoolsd',
  '[    737]   112   737   543627     4691     2751     1940         0   376832     1240             0 docker-swarm',
  '[    742]     0   742     1498      662      128      534         0    49152       96             0 dhclient',
];

/** A container killed by a global OOM (cgroup v2, systemd driver), quoted in a public WhoDB advisory: the summary and the kill line. */
const DOCKER_VICTIM = '92dede9aa7833cc0db5d7f780a46f57f0b7d627a15d9d0dd6233cd03544542ec';
const DOCKER_GLOBAL = [
  `oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=docker-${DOCKER_VICTIM}.scope,mems_allowed=0,global_oom,task_memcg=/system.slice/docker-${DOCKER_VICTIM}.scope,task=core,pid=411856,uid=0`,
  'Out of memory: Killed process 411856 (core) total-vm:8359408kB, anon-rss:5548564kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:11032kB oom_score_adj:0',
];

/** The kmsg records of the memcg OOM recorded on the test dockerd (test/fixtures/real/oom.md). */
const RECORDED_MEMCG = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'real', 'oom.md'), 'utf8')
  .split('\n')
  .filter((line) => /^\d+,\d+,\d+,[^;]*;/.test(line));

const asKmsg = (messages: readonly string[]) => messages.map((message, i) => parseKmsgRecord(`6,${100 + i},${1_000_000 + i},-;${message}`)!);
const attributed = (messages: readonly string[]): AttributedRecord[] => {
  const attributor = new OomReportAttributor();
  return asKmsg(messages).flatMap((record) => attributor.push(record));
};

describe("the kernel's task dump of an OOM report", () => {
  it('reads every form of its rows: 4.19+, 6.8+ with rss_anon/rss_file/rss_shmem, names with spaces', () => {
    expect(parseTaskDump(KERNEL_CTF).map((t) => [t.pid, t.rssPages, t.name])).toEqual([
      [175, 192, 'nsjail'],
      [178, 128, 'bash'],
      [185, 829792, 'enomem-1'],
    ]);
    expect(parseTaskDump(RELATE_6_16).find((t) => t.name === 'docker-swarm')).toEqual({ pid: 737, uid: 112, tgid: 737, totalVmPages: 543627, rssPages: 4691, name: 'docker-swarm' });
    const recorded = parseTaskDump(RECORDED_MEMCG.map((line) => line.slice(line.indexOf(';') + 1)));
    expect(recorded.map((t) => t.name)).toEqual(['sh', 'sh', 'head', 'tr']);
    expect(parseTaskDump([RELATE_6_16[0]!, '[   4242]  1000  4242   100000    90000    90000        0         0   800000        0             0 Web Content'])[0]?.name).toBe('Web Content');
  });

  it("rides on a global OOM's kill line, biggest first; a memcg OOM's report has none", () => {
    const kill = attributed(KERNEL_CTF).find((r) => r.globalOomTasks);
    expect(kill?.record.message).toMatch(/^Out of memory: Killed process 185 /);
    expect(kill?.globalOomTasks?.map((t) => t.name)).toEqual(['enomem-1', 'nsjail', 'bash']);
    const memcg = new OomReportAttributor();
    const released = RECORDED_MEMCG.map((line) => parseKmsgRecord(line)!).flatMap((record) => memcg.push(record));
    expect(released.some((r) => r.record.message.includes('Memory cgroup out of memory: Killed process'))).toBe(true);
    expect(released.filter((r) => r.globalOomTasks)).toEqual([]);
  });
});

describe('who used the memory at a global OOM', () => {
  const APP = 'a'.repeat(64);
  const LIMITED = 'b'.repeat(64);
  /** A /proc where the biggest process of the dump (pid 185) runs in container APP. */
  const proc = mkdtempSync(join(tmpdir(), 'fp-proc-'));
  mkdirSync(join(proc, '185'));
  writeFileSync(join(proc, '185', 'cgroup'), `12:memory:/docker/${APP}\n0::/docker/${APP}\n`);
  const options = {
    procPath: proc,
    containerMemory: () => [{ container: { id: LIMITED, name: 'cache' }, bytes: 200 * 2 ** 20 }],
    describe: async (id: string) => ({ id, name: id === APP ? 'app' : 'other' }),
  };

  it('names the processes of the dump with their containers, and the containers by readings and by the dump', async () => {
    const users = await memoryUsersAt(parseTaskDump(KERNEL_CTF), options);
    expect(users.processesFrom).toBe('task-dump');
    expect(users.processes[0]).toEqual({ pid: 185, name: 'enomem-1', rssBytes: 829792 * PAGE, containerId: APP });
    expect(users.processes.map((p) => p.name)).toEqual(['enomem-1', 'nsjail', 'bash']);
    // The unlimited container has no reading: the memory of its processes in the dump counts.
    expect(users.containers).toEqual([
      { id: APP, name: 'app', bytes: 829792 * PAGE },
      { id: LIMITED, name: 'cache', bytes: 200 * 2 ** 20 },
    ]);
  });

  it('reads /proc right after a report without a task dump', async () => {
    writeFileSync(join(proc, '185', 'statm'), '830068 829792 0 0 0 0 0\n');
    writeFileSync(join(proc, '185', 'comm'), 'enomem-1\n');
    const users = await memoryUsersAt([], options);
    expect(users.processesFrom).toBe('proc');
    expect(users.processes).toEqual([{ pid: 185, name: 'enomem-1', rssBytes: 829792 * PAGE, containerId: APP }]);
  });

  it("is on the incident of a container a global OOM killed, with the host's memory as the limit", async () => {
    const classifier = createClassifier({ kb: compileKb(loadKnowledgeBase()), facts: new FactsCache(), metrics: pipelineMetrics(new MetricsRegistry()), log: createLogger('test', 'silent') });
    const users = await memoryUsersAt(parseTaskDump(KERNEL_CTF), options);
    const ts = Date.now();
    const events: NormalizedEvent[] = DOCKER_GLOBAL.map((message, i) => ({
      v: RECORD_VERSION, id: `kmsg:b:${i}`, host: 'h', kind: 'kernel', source: 'kmsg', ts: ts + i, message, container: { id: DOCKER_VICTIM, name: 'whodb' },
      ...(message.startsWith('Out of memory') ? { memoryUsers: users } : {}),
    }));
    const updates = classifier.classify(events.map((event) => ({ type: 'event' as const, event }))).flatMap((u) => (u.op === 'signal' ? [u] : []));
    expect(new Set(updates.map((u) => `${u.kbId} ${u.fingerprint}`))).toEqual(new Set(['oom-kill oom-kill|h|ctr:whodb']));
    const context = Object.assign({}, ...updates.map((u) => u.context ?? {}));
    expect(context.oomScope).toBe('host');
    expect(context.memoryUsers?.processes[0]?.name).toBe('enomem-1');
  });

  it('is on the host-level incident when the victim ran in no container', () => {
    const classifier = createClassifier({ kb: compileKb(loadKnowledgeBase()), facts: new FactsCache(), metrics: pipelineMetrics(new MetricsRegistry()), log: createLogger('test', 'silent') });
    const kill = attributed(KERNEL_CTF).filter((r) => /^(oom-kill:|Out of memory)/.test(r.record.message));
    const users = { containers: [], processes: [{ pid: 185, name: 'enomem-1', rssBytes: 829792 * PAGE }], processesFrom: 'task-dump' as const };
    const events: NormalizedEvent[] = kill.map((r, i) => ({
      v: RECORD_VERSION, id: `kmsg:b:${i}`, host: 'h', kind: 'kernel', source: 'kmsg', ts: Date.now() + i, message: r.record.message,
      ...(r.globalOomTasks ? { memoryUsers: users } : {}),
    }));
    const updates = classifier.classify(events.map((event) => ({ type: 'event' as const, event }))).flatMap((u) => (u.op === 'signal' ? [u] : []));
    expect(new Set(updates.map((u) => u.fingerprint))).toEqual(new Set(['oom-kill|h|host']));
    const context = Object.assign({}, ...updates.map((u) => u.context ?? {}));
    expect(context).toMatchObject({ oomScope: 'host', memoryUsers: users });
  });
});
