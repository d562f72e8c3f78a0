// Classifier throughput on one core: the full KB over a realistic mixed stream (mostly benign kernel
// and log chatter, some matches, Docker events), against a naive baseline that tries every KB regex
// on every record.
import type { NormalizedEvent } from '../../shared/event.js';
import { loadKnowledgeBase, type KnowledgeBase } from '../../shared/kb/load.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { compileKb, createClassifier, FactsCache, parseLine } from '../../services/classifier/index.js';

const CID = (n: number) => n.toString(16).padStart(64, 'c');

/** Lines as they come off real hosts: ~85% benign, ~5% matches, ~10% Docker lifecycle events. */
export function mixedLines(count: number): string[] {
  const benign = [
    (i: number) => `6,${i},${i * 1000},-;IPv6: ADDRCONF(NETDEV_CHANGE): veth${(i % 4096).toString(16)}: link becomes ready`,
    (i: number) => `6,${i},${i * 1000},-;docker0: port ${i % 16}(veth${(i % 4096).toString(16)}) entered forwarding state`,
    (i: number) => `6,${i},${i * 1000},-;EXT4-fs (vda${i % 3}): mounted filesystem with ordered data mode. Opts: (null)`,
    (i: number) => `web_${i % 9}  | 172.18.0.${i % 250} - - [27/Nov/2026:10:00:00 +0000] "GET /api/items/${i} HTTP/1.1" 200 ${i % 9000} "-" "curl/8.5.0"`,
    (i: number) => `api_${i % 5}  | {"level":"info","msg":"request completed","route":"/orders/${i}","duration_ms":${i % 300}}`,
    (i: number) => `time="2026-11-27T10:00:00.${String(i % 1e9).padStart(9, '0')}Z" level=info msg="Container ${CID(i).slice(0, 12)} started"`,
    (i: number) => `db_1  | LOG:  checkpoint complete: wrote ${i % 500} buffers (0.${i % 9}%); 0 WAL file(s) added`,
  ];
  const matches = [
    (i: number) => `6,${i},${i * 1000},-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/docker/${CID(i)},task_memcg=/docker/${CID(i)},task=sh,pid=${i},uid=0`,
    (i: number) => `app_${i % 3}  | java.lang.OutOfMemoryError: Java heap space`,
    (i: number) => `worker_1  | dd: error writing '/data/x${i}': No space left on device`,
    (i: number) => `6,${i},${i * 1000},-;cgroup: fork rejected by pids controller in /docker/${CID(i)}`,
  ];
  const event = (i: number) =>
    JSON.stringify({
      status: i % 2 ? 'start' : 'die',
      id: CID(i % 50),
      Type: 'container',
      Action: i % 2 ? 'start' : 'die',
      Actor: { ID: CID(i % 50), Attributes: { image: 'busybox', name: `svc-${i % 50}`, ...(i % 2 ? {} : { exitCode: '0' }) } },
      time: 1764237600 + i,
      timeNano: `${1764237600 + i}000000000`,
    });
  const lines: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const r = i % 100;
    if (r < 5) lines.push((matches[i % matches.length] as (n: number) => string)(i));
    else if (r < 15) lines.push(event(i));
    else lines.push((benign[i % benign.length] as (n: number) => string)(i));
  }
  return lines;
}

/** The mixed stream as the classifier gets it: events decoded from the JSON records of its queue or topic. */
function mixedStream(count: number): NormalizedEvent[] {
  return mixedLines(count).map((line, i) => JSON.parse(JSON.stringify(parseLine(line, 'auto', { host: 'bench', lineNumber: i + 1 }))) as NormalizedEvent);
}

export interface ThroughputResult {
  records: number;
  /** Records/s of each repeat, slowest first. */
  repeats: number[];
  /** The naive baseline's records/s, same repeats, slowest first. */
  naiveRepeats: number[];
  matchedRecords: number;
}

function naiveClassifier(kb: KnowledgeBase): (event: NormalizedEvent) => number {
  const regexes: RegExp[] = [];
  for (const entry of kb.entries) {
    for (const detector of entry.detectors) {
      const matches = 'match' in detector ? [detector.match] : 'window' in detector ? [detector.window.match] : detector.sequence.steps;
      for (const m of matches) if (m.message) regexes.push(new RegExp(m.message, m.ignoreCase ? 'i' : ''));
    }
  }
  return (event) => {
    let hits = 0;
    for (const regex of regexes) if (regex.test(event.message)) hits += 1;
    return hits;
  };
}

/**
 * CPU seconds (user + system, every thread of the process) `passes` calls of `run` take: on a
 * machine that other work shares, wall time would count the time the process waits for a core.
 */
function cpuSeconds(passes: number, run: () => number): { seconds: number; value: number } {
  const start = process.cpuUsage();
  let value = 0;
  for (let i = 0; i < passes; i += 1) value = run();
  const used = process.cpuUsage(start);
  return { seconds: (used.user + used.system) / 1e6, value };
}

const ascending = (a: number, b: number): number => a - b;

/**
 * The classifier's records/s on `records` records of the mixed stream, `repeats` times, each
 * repeat at least `minMs` of CPU, beside the naive baseline measured in alternation with it (both
 * see the same machine).
 */
export function classifierThroughput(records: number, minMs = 1000, repeats = 5): ThroughputResult {
  const kb = loadKnowledgeBase();
  const events = mixedStream(records);
  const classifier = createClassifier({
    kb: compileKb(kb),
    facts: new FactsCache(),
    metrics: pipelineMetrics(new MetricsRegistry()),
    log: createLogger('bench', 'silent'),
  });
  const naive = naiveClassifier(kb);
  const realPass = () => {
    let matched = 0;
    for (const event of events) if (classifier.updatesFor(event).length > 0) matched += 1;
    return matched;
  };
  const naivePass = () => {
    let hits = 0;
    for (const event of events) hits += naive(event);
    return hits;
  };
  // Warm-up passes of each, minMs at least: the JIT compiles on threads of its own, whose CPU time
  // counts. Then how many passes (as long as the last warm-up pass) make a repeat of minMs.
  const passesOf = (run: () => number) => {
    let last = 0;
    for (let spent = 0, pass = 0; spent < minMs / 1000 || pass < 3; pass += 1) {
      last = cpuSeconds(1, run).seconds;
      spent += last;
    }
    return Math.max(1, Math.ceil(minMs / 1000 / Math.max(1e-6, last)));
  };
  const realPasses = passesOf(realPass);
  const naivePasses = passesOf(naivePass);
  const real: number[] = [];
  const baseline: number[] = [];
  let matchedRecords = 0;
  for (let i = 0; i < repeats; i += 1) {
    const r = cpuSeconds(realPasses, realPass);
    const n = cpuSeconds(naivePasses, naivePass);
    matchedRecords = r.value;
    real.push((records * realPasses) / r.seconds);
    baseline.push((records * naivePasses) / n.seconds);
  }
  return { records, repeats: real.sort(ascending), naiveRepeats: baseline.sort(ascending), matchedRecords };
}
