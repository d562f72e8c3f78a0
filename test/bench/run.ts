// `npm run bench -- [--quick] [--only a,b] [--out FILE]`: measures each figure beside its baseline in
// the same run, prints a table and the machine, and writes {"machine", "figures"} as JSON to FILE.
// Figures: classifier, oom-latency, distributed (latency + pipeline throughput), footprint, search.
// The real services (test dockerd, Kafka, Elasticsearch) are started as needed (idempotent).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../support/fineprint.js';
import { service, type ServiceName } from '../support/services.js';
import { classifierThroughput } from './classifier.js';
import { distributedFigures } from './distributed.js';
import { collectorFootprint } from './footprint.js';
import { allInOneOomLatency, type OomLatencyResult } from './oom-latency.js';
import { describe, describeMachine, endMachine, figure, table, type Figure } from './report.js';
import { elasticsearchSearch, sqliteSearch, type SearchResult } from './search.js';

const FIGURES = ['classifier', 'oom-latency', 'distributed', 'footprint', 'search'] as const;

const { values } = parseArgs({
  options: { out: { type: 'string' }, quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const quick = values.quick ?? false;
const only = values.only?.split(',');
const unknown = only?.filter((name) => !(FIGURES as readonly string[]).includes(name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown figure(s): ${unknown.join(', ')}; known: ${FIGURES.join(', ')}`);
  process.exit(2);
}
const want = (name: (typeof FIGURES)[number]) => !only || only.includes(name);

/** Sizes: --quick finishes every figure in under two minutes in all; the full run is the published one. */
const size = quick
  ? { records: 20_000, classifierMs: 1000, kills: 5, events: 20_000, windowMs: 6000, sqlite: 20_000, elasticsearch: 20_000, queries: 40 }
  : { records: 100_000, classifierMs: 3000, kills: 50, events: 200_000, windowMs: 30_000, sqlite: 100_000, elasticsearch: 1_000_000, queries: 200 };

/** Starts a real service (idempotent) and takes its environment (`<name>.sh env`). */
function useService(name: ServiceName): void {
  service(name, 'start');
  const script = join(REPO_ROOT, 'scripts', 'services', `${name}.sh`);
  for (const line of execFileSync('bash', [script, 'env'], { encoding: 'utf8' }).split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1] as string] = (m[2] as string).replace(/^(['"])(.*)\1$/, '$2');
  }
}

const machine = describeMachine();
const figures: Figure[] = [];
const needs = new Set<ServiceName>();
if (want('oom-latency') || want('distributed') || want('footprint')) needs.add('dockerd');
if (want('distributed') || want('footprint')) needs.add('kafka');
if (want('distributed') || want('search')) needs.add('elasticsearch');
for (const name of needs) useService(name);

const ms = (n: number) => Math.round(n);
function latencyFigures(r: OomLatencyResult, mode: string, targetMs: number): Figure[] {
  const leg = r.notified ? 'notification received' : 'incident searchable';
  const measured = r.notified ?? r.searchable;
  return [
    figure(`OOM kill -> ${leg}, p50 of ${measured.samples} (${mode}); baseline: Docker's oom event at a bare subscriber`, ms(measured.p50), 'ms', ms(r.dockerEvent.p50), '-', null),
    figure(`OOM kill -> ${leg}, p99 of ${measured.samples} (${mode}); baseline: same`, ms(measured.p99), 'ms', ms(r.dockerEvent.p99), `p99 < ${targetMs} ms`, measured.p99 < targetMs),
  ];
}

function searchFigure(r: SearchResult, store: string): Figure {
  return figure(
    `search p95, full text + kb/host/time filters, ${r.incidents} incidents (${store}, loaded at ${Math.round(r.loadPerSecond)}/s); baseline: same text, no filters`,
    r.filteredP95,
    'ms',
    r.unfilteredP95,
    '-',
    null,
  );
}

if (want('classifier')) {
  const r = classifierThroughput(size.records, size.classifierMs);
  figures.push(
    figure(
      'classifier throughput (full KB, mixed stream, 1 core); baseline: every KB regex on every record',
      r.recordsPerSecond,
      'records/s',
      r.naiveRecordsPerSecond,
      '>= 500000 records/s and >= 5x baseline',
      r.recordsPerSecond >= 500_000 && r.recordsPerSecond >= 5 * r.naiveRecordsPerSecond,
    ),
  );
}

if (want('oom-latency')) figures.push(...latencyFigures(await allInOneOomLatency(size.kills), 'all-in-one', 1000));

if (want('distributed')) {
  const r = await distributedFigures({ kills: size.kills, events: size.events });
  if (r.latency) figures.push(...latencyFigures(r.latency, 'distributed', 2000));
  if (r.pipeline) {
    const p = r.pipeline;
    figures.push(
      figure(
        `sustained pipeline, collector buffer -> Kafka -> classifier -> API -> Elasticsearch, ${p.events} events${p.stalled ? ' (STALLED)' : ''}; baseline: bare kafkajs produce + consume`,
        p.eventsPerSecond,
        'events/s',
        p.baselinePerSecond,
        '>= 20000 events/s, 0 lost',
        p.eventsPerSecond >= 20_000 && p.lost === 0,
      ),
      figure(`pipeline events lost of ${p.events} (counted at the classifier and in the store)`, p.lost, 'events', null, '0', p.lost === 0),
    );
  }
}

if (want('footprint')) {
  const r = await collectorFootprint(size.windowMs);
  const storm = `under a ${Math.round(r.storm.eventsPerSecond)} events/s log storm`;
  figures.push(
    figure('collector RSS, idle; baseline: bare node process', r.idle.collector.rssMiB, 'MiB', r.idle.bare.rssMiB, '< 60 MiB', r.idle.collector.rssMiB < 60),
    figure('collector CPU, idle; baseline: bare node process', r.idle.collector.cpuPercent, '% of a core', r.idle.bare.cpuPercent, '< 2% of a core', r.idle.collector.cpuPercent < 2),
    figure(`collector RSS ${storm}; baseline: bare node process`, r.storm.collector.rssMiB, 'MiB', r.storm.bare.rssMiB, '< 60 MiB', r.storm.collector.rssMiB < 60),
    figure(`collector CPU ${storm}; baseline: bare node process`, r.storm.collector.cpuPercent, '% of a core', r.storm.bare.cpuPercent, '-', null),
  );
}

if (want('search')) {
  figures.push(searchFigure(await sqliteSearch(size.sqlite, size.queries), 'embedded SQLite'));
  figures.push(searchFigure(await elasticsearchSearch(size.elasticsearch, size.queries), 'Elasticsearch'));
}

const report = { machine: endMachine(machine), figures };
console.log(`machine: ${describe(report.machine)}`);
console.log(`command: npm run bench --${quick ? ' --quick' : ''}${only ? ` --only ${only.join(',')}` : ''}`);
console.log(table(figures));
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
