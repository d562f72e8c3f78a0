// An OOM storm on the real Docker engine while the all-in-one runs: more quick memcg OOM kills than
// the kernel reports in full (it rate-limits its OOM report to 10 per 5 s, so the later kills print
// their `Killed process` line without the summary naming the memcg). Every container still gets
// exactly one oom-kill incident with its own kernel kill line, and no kernel line files a
// host-level incident. Each report line, pasted alone into `fineprint classify`, is still oom-kill.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeContainers, runContainer, testDocker, waitFor } from '../support/docker.js';
import { BIN, incidentDetail, incidentsOf, REPO_ROOT, startFineprint, type RunningFineprint } from '../support/fineprint.js';

const docker = testDocker();
const PREFIX = `fp-storm-${process.pid}-`;
const MB = 1024 * 1024;
/** More than the kernel's burst of 10 full reports per 5 s. */
const KILLS = 16;
let fp: RunningFineprint;

/** One /dev/kmsg record as the kernel writes it. */
interface KernelRecord {
  raw: string;
  tsUsec: number;
  message: string;
}

/**
 * Reads the kernel's ring buffer on its own (not through fineprint), from the oldest record, while
 * the storm runs: a storm of reports may overwrite records before the end.
 */
class KernelLog {
  readonly records: KernelRecord[] = [];
  private readonly fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  private readonly buffer = Buffer.alloc(8192);
  private readonly timer = setInterval(() => this.drain(), 50);

  drain(): void {
    for (;;) {
      let n: number;
      try {
        n = readSync(this.fd, this.buffer, 0, this.buffer.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return;
        if (code === 'EPIPE') continue;
        throw err;
      }
      if (n === 0) return;
      const raw = this.buffer.toString('utf8', 0, n).split('\n')[0] ?? '';
      const m = /^\d+,\d+,(\d+),[^;]*;(.*)$/.exec(raw);
      if (m) this.records.push({ raw, tsUsec: Number(m[1]), message: m[2] ?? '' });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.drain();
    closeSync(this.fd);
  }
}

/** Now on the kernel's clock. */
const uptimeUsec = (): number => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e6;

beforeAll(async () => {
  await removeContainers(docker, PREFIX);
  fp = await startFineprint();
});

afterAll(async () => {
  await removeContainers(docker, PREFIX);
  await fp?.stop();
});

describe('an OOM storm on a real Docker engine', () => {
  it(`${KILLS} quick OOM kills are ${KILLS} oom-kill incidents, each with its own kill line, and none host-level`, async () => {
    const kernel = new KernelLog();
    const since = uptimeUsec();
    // All containers wait for the same second, then allocate past their limit at once.
    const go = Math.floor(Date.now() / 1000) + 12;
    const names = Array.from({ length: KILLS }, (_, i) => `${PREFIX}${i}`);
    const containers = await Promise.all(
      names.map((name) =>
        runContainer(docker, {
          name,
          memory: 32 * MB,
          cmd: ['sh', '-c', `while [ $(date +%s) -lt ${go} ]; do sleep 0.1; done; x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo \${#x}`],
        }),
      ),
    );
    // The host pid of each PID 1 (the shell the kernel kills: it holds the 100 MB string).
    const pids = new Map<string, number>();
    for (const [i, container] of containers.entries()) pids.set(names[i] as string, (await container.inspect()).State.Pid);
    expect(Date.now() / 1000, 'containers started before the storm').toBeLessThan(go);
    const exits = await Promise.all(containers.map(async (c) => (await c.wait()) as { StatusCode: number }));
    expect(exits.map((e) => e.StatusCode)).toEqual(names.map(() => 137));

    kernel.close();

    const storm = kernel.records.filter((r) => r.tsUsec >= since);
    const killLineOf = (pid: number) => storm.find((r) => r.message.startsWith(`Memory cgroup out of memory: Killed process ${pid} `));
    const summaries = storm.filter((r) => r.message.startsWith('oom-kill:') && [...pids.values()].some((pid) => r.message.includes(`,pid=${pid},`)));
    const killLines = [...pids.values()].flatMap((pid) => killLineOf(pid) ?? []);
    // The storm did what it is for: the kernel printed every kill, but not every summary.
    expect(killLines).toHaveLength(KILLS);
    expect(summaries.length).toBeLessThan(KILLS);
    console.info(`OOM storm: ${KILLS} kills, ${summaries.length} summaries, ${killLines.length} Killed-process lines printed by the kernel`);

    const evidenceOf = async (name: string) => {
      const [incident] = await incidentsOf(fp.url, { container: name, kb: 'oom-kill' });
      return incident ? (await incidentDetail(fp.url, incident.id)).evidence : [];
    };
    const killLinesIn = (evidence: Awaited<ReturnType<typeof evidenceOf>>) =>
      evidence.filter((e) => e.kind === 'kernel' && e.message.includes(': Killed process ')).map((e) => e.message);
    // Complete: each incident has its die and its own kill line (evidence may arrive in several writes).
    for (const name of names) {
      const own = killLineOf(pids.get(name) as number)?.message as string;
      await waitFor(
        async () => {
          const evidence = await evidenceOf(name);
          return evidence.some((e) => e.action === 'die') && killLinesIn(evidence).includes(own) ? true : undefined;
        },
        60_000,
        `the oom-kill incident of ${name} with its die and its kill line`,
        250,
      );
    }
    for (const name of names) {
      const incidents = await incidentsOf(fp.url, { container: name, kb: 'oom-kill' });
      expect(incidents.map((i) => i.count), name).toEqual([1]);
      const evidence = await evidenceOf(name);
      expect(evidence.filter((e) => e.action === 'die').map((e) => e.exitCode), name).toEqual([137]);
      // Its own kill line and no other container's.
      expect(killLinesIn(evidence), name).toEqual([killLineOf(pids.get(name) as number)?.message]);
    }
    // This fineprint saw only the storm: one oom-kill incident per container, none host-level.
    const all = await incidentsOf(fp.url, { kb: 'oom-kill' });
    expect(all.filter((i) => i.container === null)).toEqual([]);
    expect(all.map((i) => i.container?.name).sort()).toEqual([...names].sort());

    // Pasted alone, each line of a printed report still names the OOM entry.
    const reportLines = storm
      .filter((r) => /^(?:oom-kill:|Memory cgroup out of memory: Killed process |Memory cgroup stats for \/docker\/)|(?:^| )invoked oom-killer: |^memory: usage /.test(r.message))
      .map((r) => r.raw);
    expect(reportLines.length).toBeGreaterThan(KILLS);
    const classified = spawnSync(process.execPath, [BIN, 'classify', '--source', 'kmsg'], { cwd: REPO_ROOT, input: `${reportLines.join('\n')}\n`, encoding: 'utf8' });
    expect(classified.status, classified.stderr).toBe(0);
    const verdicts = classified.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; kb: string[] });
    const missed = verdicts.filter((v) => !v.kb.includes('oom-kill')).map((v) => reportLines[v.line - 1]);
    expect(missed).toEqual([]);
  });
});
