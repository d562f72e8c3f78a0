// `npm run bench`: prints a table of measured figures, each beside its baseline.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { classifierThroughput } from './classifier.js';
import { distributedFigures } from './distributed.js';
import { oomLatency } from './oom-latency.js';

interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
}

const { values } = parseArgs({
  options: { out: { type: 'string' }, quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const quick = values.quick ?? false;
const want = (name: string) => !values.only || values.only.split(',').includes(name);
const figures: Figure[] = [];

if (want('classifier')) {
  const r = classifierThroughput(quick ? 20_000 : 100_000, quick ? 1000 : 3000);
  figures.push({
    name: 'classifier throughput (full KB, mixed stream, 1 core)',
    value: Math.round(r.recordsPerSecond),
    unit: 'records/s',
    baseline: Math.round(r.naiveRecordsPerSecond),
    ratio: Number((r.recordsPerSecond / r.naiveRecordsPerSecond).toFixed(2)),
    target: '>= 500000 records/s and >= 5x naive',
    met: r.recordsPerSecond >= 500_000 && r.recordsPerSecond >= 5 * r.naiveRecordsPerSecond,
  });
}

if (want('oom-latency')) {
  const r = await oomLatency(quick ? 5 : 20);
  figures.push(
    { name: 'OOM kill -> incident searchable, p50 (all-in-one)', value: r.p50, unit: 'ms', baseline: null, ratio: null, target: '< 1000 ms', met: r.p50 < 1000 },
    { name: `OOM kill -> incident searchable, max of ${r.samples} (all-in-one)`, value: r.max, unit: 'ms', baseline: null, ratio: null, target: '< 1000 ms', met: r.max < 1000 },
  );
}

if (want('distributed')) {
  const r = await distributedFigures(quick ? 20_000 : 200_000, quick ? 5 : 20);
  figures.push(
    { name: 'sustained events/s, collector -> Kafka -> classifier', value: r.eventsPerSecond, unit: 'events/s', baseline: null, ratio: null, target: '>= 20000 events/s, 0 lost', met: r.eventsPerSecond >= 20_000 && r.lost === 0 },
    { name: `events lost of ${r.lines} (counted at both ends)`, value: r.lost, unit: 'events', baseline: null, ratio: null, target: '0', met: r.lost === 0 },
    { name: 'OOM kill -> incident searchable, p50 (distributed)', value: r.latency.p50, unit: 'ms', baseline: null, ratio: null, target: '< 2000 ms', met: r.latency.p50 < 2000 },
    { name: `OOM kill -> incident searchable, max of ${r.latency.samples} (distributed)`, value: r.latency.max, unit: 'ms', baseline: null, ratio: null, target: '< 2000 ms', met: r.latency.max < 2000 },
  );
}

const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
const rows = figures.map((f) => [f.name, `${f.value} ${f.unit}`, f.baseline === null ? '-' : `${f.baseline} ${f.unit}`, f.ratio === null ? '-' : `${f.ratio}x`, f.target, f.met === null ? '-' : f.met ? 'yes' : 'no']);
const header = ['figure', 'value', 'baseline', 'ratio', 'target', 'met'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
console.log(`machine: ${machine.cpus} x ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
if (values.out) writeFileSync(values.out, `${JSON.stringify({ machine, figures }, null, 2)}\n`);
