// `npm run bench -- [--quick] [--only a,b] [--soak MINUTES] [--out FILE]`: measures each figure beside its baseline in
// the same run, prints a table and the machine, and writes {"machine", "figures"} as JSON to FILE.
// Figures: classifier, oom-latency, distributed (alert latency), pipeline (throughput), footprint,
// memory-readings (the collector reading the memory of 50 limited containers against none), search,
// kb-worst-case (the 10 slowest KB detector regexes on a 16 KiB line built to make them backtrack),
// redact (the redactor's worst time per hostile line, against the regex redactor it replaced),
// noise (incidents per ordinary container start, and per real fault), corpus (recall and false
// positives of `fineprint classify` on test/corpus, auto-detected and forced formats), classify (the
// real CLI's lines/s on a large file), rejoin (SIGKILL of a classifier -> a restarted one consuming
// again, with the default Kafka session timeout and with the previous fixed 30 s), fleet (1,000 simulated
// hosts' records into one Kafka topic and OOM incidents filed into Elasticsearch: the per-record and
// per-incident sizes docs/fleet.md sizes a fleet from).
// `--soak MINUTES` runs the soak alone (soak.ts): memory slopes of the three distributed processes
// under a 1,000 lines/s storm, and the collector's per-container keys afterwards.
// The real services (test dockerd, Kafka, Elasticsearch) are started as needed (idempotent).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../support/fineprint.js';
import { service, type ServiceName } from '../support/services.js';
import { classifierThroughput } from './classifier.js';
import { cliThroughput, corpusScores } from './corpus.js';
import { distributedFigures } from './distributed.js';
import { collectorFootprint } from './footprint.js';
import { memoryReadingsCost } from './memory-readings.js';
import { kbWorstCase } from './kb-worst-case.js';
import { redactWorstCase } from './redact.js';
import { rejoinAfterKill } from './rejoin.js';
import { fleetRates } from './fleet.js';
import { riskNoise } from './risk-noise.js';
import { allInOneOomLatency, webhookLeg, type NotificationLeg, type OomLatencyResult } from './oom-latency.js';
import { describe, describeMachine, endMachine, figure, table, withDocsTable, type Figure } from './report.js';
import { elasticsearchSearch, sqliteSearch, type SearchResult } from './search.js';
import { soak } from './soak.js';

const FIGURES = ['classifier', 'oom-latency', 'distributed', 'pipeline', 'footprint', 'memory-readings', 'search', 'kb-worst-case', 'redact', 'noise', 'corpus', 'classify', 'rejoin', 'fleet'] as const;

const { values } = parseArgs({
  options: { out: { type: 'string' }, quick: { type: 'boolean', default: false }, only: { type: 'string' }, soak: { type: 'string' } },
});
const soakMinutes = values.soak === undefined ? undefined : Number(values.soak);
if (soakMinutes !== undefined && !(soakMinutes > 0)) {
  console.error(`--soak takes minutes (> 0), not ${values.soak}`);
  process.exit(2);
}
const quick = values.quick ?? false;
const only = values.only?.split(',');
const unknown = only?.filter((name) => !(FIGURES as readonly string[]).includes(name)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown figure(s): ${unknown.join(', ')}; known: ${FIGURES.join(', ')}`);
  process.exit(2);
}
const want = (name: (typeof FIGURES)[number]) => soakMinutes === undefined && (!only || only.includes(name));

/** Sizes: --quick finishes every figure in under two minutes in all; the full run is the published one. */
const size = quick
  ? { records: 20_000, classifierMs: 300, kills: 4, events: 20_000, windowMs: 5000, sqlite: 20_000, elasticsearch: 20_000, queries: 30, containers: 10, rejoins: 1, fleetHosts: 100, fleetIncidents: 300 }
  : { records: 100_000, classifierMs: 1000, kills: 50, events: 200_000, windowMs: 30_000, sqlite: 100_000, elasticsearch: 1_000_000, queries: 200, containers: 50, rejoins: 3, fleetHosts: 1000, fleetIncidents: 2000 };

const serviceScript = (name: ServiceName) => join(REPO_ROOT, 'scripts', 'services', `${name}.sh`);

/** Takes a service's environment (`<name>.sh env`: its socket, broker or URL). */
function serviceEnv(name: ServiceName): void {
  for (const line of execFileSync('bash', [serviceScript(name), 'env'], { encoding: 'utf8' }).split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1] as string] = (m[2] as string).replace(/^(['"])(.*)\1$/, '$2');
  }
}

/**
 * Makes sure the services are up: a service that does not answer is started at once (the start
 * scripts are idempotent and serialise themselves through their own lock), with its time shown.
 */
function servicesUp(names: ServiceName[]): void {
  for (const name of names) {
    if (spawnSync('bash', [serviceScript(name), 'status'], { stdio: 'ignore' }).status !== 0) {
      const started = Date.now();
      process.stderr.write(`starting ${name} (scripts/services/${name}.sh start)\n`);
      service(name, 'start');
      process.stderr.write(`${name}: up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
    serviceEnv(name);
  }
}

const machine = describeMachine();
const figures: Figure[] = [];
const failures: string[] = [];
const needs = new Set<ServiceName>();
if (want('oom-latency') || want('distributed') || want('footprint') || want('noise')) needs.add('dockerd');
if (want('pipeline') || want('footprint') || want('memory-readings') || soakMinutes !== undefined) needs.add('dockerd');
if (want('distributed') || want('pipeline') || want('footprint') || want('memory-readings') || want('rejoin') || want('fleet') || soakMinutes !== undefined) needs.add('kafka');
if (want('distributed') || want('pipeline') || want('search') || want('rejoin') || want('fleet') || soakMinutes !== undefined) needs.add('elasticsearch');
servicesUp([...needs]);

/** Runs one group of figures: waits for its services, times it, and reports a failure instead of ending the run. */
async function group(name: (typeof FIGURES)[number], services: ServiceName[], measure: () => Promise<Figure[]> | Figure[]): Promise<void> {
  if (!want(name)) return;
  servicesUp(services);
  const started = Date.now();
  try {
    figures.push(...(await measure()));
  } catch (error) {
    failures.push(`${name}: ${(error as Error).message.split('\n')[0]}`);
  }
  process.stderr.write(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

const ms = (n: number) => Math.round(n);
function latencyFigures(r: OomLatencyResult, mode: string, targetMs: number): Figure[] {
  const base = `(${mode}); baseline: Docker's oom event at a bare subscriber`;
  const out = [
    figure(`OOM kill -> incident searchable, p50 of ${r.searchable.samples} ${base}`, ms(r.searchable.p50), 'ms', ms(r.dockerEvent.p50), '-', null),
    figure(`OOM kill -> incident searchable, p99 of ${r.searchable.samples} ${base}`, ms(r.searchable.p99), 'ms', ms(r.dockerEvent.p99), '-', null),
  ];
  const alert = r.notified ?? r.searchable;
  const leg = r.notified ? 'webhook notification received' : 'incident searchable (no notifier)';
  out.push(
    figure(`OOM kill -> ${leg}, p50 of ${alert.samples} ${base}`, ms(alert.p50), 'ms', ms(r.dockerEvent.p50), '-', null),
    figure(`OOM kill -> ${leg}, p99 of ${alert.samples} ${base}`, ms(alert.p99), 'ms', ms(r.dockerEvent.p99), `p99 < ${targetMs} ms`, alert.p99 < targetMs),
  );
  return out;
}

function searchFigure(r: SearchResult, store: string, targetMs: number): Figure {
  return figure(
    `search p95, page + facets + histogram of full text + kb/host/time filters, ${r.incidents} incidents (${store}, loaded at ${Math.round(r.loadPerSecond)}/s); baseline: same text, no filters`,
    r.filteredP95,
    'ms',
    r.unfilteredP95,
    `p95 <= ${targetMs} ms`,
    r.filteredP95 <= targetMs,
  );
}

await group('classifier', [], () => {
  const r = classifierThroughput(size.records, size.classifierMs);
  const at = (repeats: number[], which: 'slowest' | 'median') => (which === 'slowest' ? (repeats[0] as number) : (repeats[Math.floor(repeats.length / 2)] as number));
  return (['slowest', 'median'] as const).map((which) => {
    const value = at(r.repeats, which);
    const baseline = at(r.naiveRepeats, which);
    return figure(
      `classifier throughput (full KB, mixed stream, 1 core, CPU time), ${which} of ${r.repeats.length} repeats; baseline: every KB regex on every record, ${which} of as many`,
      value,
      'records/s',
      baseline,
      '>= 1000000 records/s and >= 5x baseline',
      value >= 1_000_000 && value >= 5 * baseline,
    );
  });
});

/** Runs `measure` with a fresh notification receiver, closed afterwards. */
async function withWebhook<T>(measure: (leg: NotificationLeg) => Promise<T>): Promise<T> {
  const leg = await webhookLeg();
  try {
    return await measure(leg);
  } finally {
    await leg.close();
  }
}

await group('oom-latency', ['dockerd'], async () => latencyFigures(await withWebhook((leg) => allInOneOomLatency(size.kills, leg)), 'all-in-one', 1000));

await group('distributed', ['dockerd', 'kafka', 'elasticsearch'], async () => {
  const r = await withWebhook((notifications) => distributedFigures({ kills: size.kills, events: 0, notifications }));
  return r.latency ? latencyFigures(r.latency, 'distributed', 2000) : [];
});

await group('pipeline', ['dockerd', 'kafka', 'elasticsearch'], async () => {
  const p = (await distributedFigures({ kills: 0, events: size.events })).pipeline;
  if (!p) return [];
  return [
    figure(
      `sustained pipeline, collector buffer -> Kafka -> classifier -> API -> Elasticsearch, ${p.events} events${p.stalled ? ' (STALLED)' : ''}; baseline: bare kafkajs produce + consume of the same records (load average ${p.loadAverage})`,
      p.eventsPerSecond,
      'events/s',
      p.baselinePerSecond,
      '>= 25000 events/s and >= 0.8x baseline, 0 lost',
      p.eventsPerSecond >= 25_000 && p.eventsPerSecond >= 0.8 * p.baselinePerSecond && p.lost === 0,
    ),
    figure(`pipeline events lost of ${p.events} (counted at the classifier and in the store)`, p.lost, 'events', null, '0', p.lost === 0),
  ];
});

await group('footprint', ['dockerd', 'kafka'], async () => {
  const r = await collectorFootprint(size.windowMs);
  const how = `${r.nodeOptions ? `NODE_OPTIONS ${r.nodeOptions} as in docker-compose.yml, ` : ''}load average ${r.loadAverage}`;
  const storm = `under a ${Math.round(r.storm.eventsPerSecond)} events/s log storm (${how})`;
  const idle = `idle (${r.idle.eventsPerSecond.toFixed(1)} events/s from the test dockerd and kmsg; ${how})`;
  return [
    figure(`collector RSS, ${idle}; baseline: bare node + dockerode`, r.idle.collector.rssMiB, 'MiB', r.idle.bare.rssMiB, '<= 60 MiB', r.idle.collector.rssMiB <= 60),
    figure(`collector CPU, ${idle}; baseline: bare node + dockerode`, r.idle.collector.cpuPercent, '% of a core', r.idle.bare.cpuPercent, '<= 1% of a core', r.idle.collector.cpuPercent <= 1),
    figure(`collector RSS ${storm}; baseline: bare node + dockerode`, r.storm.collector.rssMiB, 'MiB', r.storm.bare.rssMiB, '<= 60 MiB', r.storm.collector.rssMiB <= 60),
    figure(`collector CPU ${storm}; baseline: bare node + dockerode`, r.storm.collector.cpuPercent, '% of a core', r.storm.bare.cpuPercent, '-', null),
  ];
});

await group('memory-readings', ['dockerd', 'kafka'], async () => {
  const r = await memoryReadingsCost(size.containers, size.windowMs);
  const what = `reading the memory cgroup of ${r.containers} running containers with a 32 MiB limit every ${r.intervalSeconds} s; baseline: the same collector before they started`;
  return [
    figure(`collector CPU ${what}`, r.with.cpuPercent, '% of a core', r.without.cpuPercent, '-', null),
    figure(`collector RSS ${what}`, r.with.rssMiB, 'MiB', r.without.rssMiB, '-', null),
  ];
});

await group('search', ['elasticsearch'], async () => [
  searchFigure(await sqliteSearch(size.sqlite, size.queries), 'embedded SQLite', 20),
  searchFigure(await elasticsearchSearch(size.elasticsearch, size.queries), 'Elasticsearch', 50),
]);

await group('noise', ['dockerd'], async () => {
  const r = await riskNoise(size.containers);
  const perFault = r.perFault.map((f) => `${f.kbId} ${f.incidents}`).join(', ');
  return [
    figure(
      `incidents per container start, ${size.containers} ordinary containers started, restarted and stopped (${r.starts} starts); baseline: risks the audit kept for them`,
      r.churnIncidents / r.starts,
      'incidents',
      r.risks / r.starts,
      '0',
      r.churnIncidents === 0,
    ),
    figure(`incidents per real fault, ${r.perFault.length} scenarios (${perFault})`, r.perFault.reduce((n, f) => n + f.incidents, 0) / r.perFault.length, 'incidents', null, 'exactly 1 each', r.perFault.every((f) => f.incidents === 1)),
  ];
});

await group('kb-worst-case', [], () => {
  const r = kbWorstCase();
  const growth = (g: number) => (Number.isNaN(g) ? 'under 1 ms, growth not measured' : g === Infinity ? 'never finished' : `${g.toFixed(0)}x from 4 KiB`);
  return r.detectors.slice(0, 10).map((d) =>
    figure(
      `KB worst case, 16 KiB line: ${d.id} on ${d.description} (${growth(d.growth)}); baseline: one linear scan of 16 KiB`,
      d.ms,
      'ms',
      r.linearScanMs,
      'linear, < 1 ms',
      d.linear && d.ms < 1,
    ),
  );
});

await group('redact', [], async () => {
  const r = await redactWorstCase(quick ? 3000 : 10_000);
  const baseline = (ms: number, family: string) =>
    ms === Infinity ? `previous regex redactor, stopped unfinished after ${r.baselineTimeoutMs / 1000} s on ${family}` : `previous regex redactor (worst: ${family})`;
  const capped = (ms: number) => (ms === Infinity ? r.baselineTimeoutMs : ms);
  const kib = (length: number) => (length >= 1024 * 1024 ? `${length / 1024 / 1024} MiB` : `${length / 1024} KiB`);
  const c = r.collectorPath;
  return [
    ...r.worst.map((w) =>
      figure(
        `redactor worst case per ${kib(w.length)} line, ${r.families} hostile families (worst: ${w.family}); baseline: ${baseline(w.baselineMs, w.baselineFamily)}`,
        w.ms,
        'ms',
        capped(w.baselineMs),
        w.length <= 16 * 1024 ? '< 5 ms' : '< 1000 ms (linear)',
        w.ms < (w.length <= 16 * 1024 ? 5 : 1000),
      ),
    ),
    figure(
      `redactor worst case per 1 MiB line as the collector takes it (cut to 16 KiB, then redacted; worst: ${c.family}); baseline: ${baseline(c.baselineMs, c.baselineFamily)}, whole line then cut`,
      c.ms,
      'ms',
      capped(c.baselineMs),
      '< 5 ms',
      c.ms < 5,
    ),
  ];
});

await group('corpus', [], () => {
  const r = corpusScores();
  const percent = (s: { recall: number }) => s.recall * 100;
  const what = `${r.lines} real lines in ${r.files} files${r.problems > 0 ? `, ${r.problems} invalid records skipped` : ''}`;
  return [
    figure(
      `classify recall on the corpus, auto-detected formats (${r.auto.recalled} of ${r.auto.positives} positive lines, ${what}); baseline: each line's format forced`,
      percent(r.auto),
      '%',
      percent(r.forced),
      '>= 90%',
      r.auto.recall >= 0.9,
    ),
    figure(
      `classify false positives on the corpus, auto-detected formats (${r.auto.benign} benign lines, extra ids on ${r.auto.positives} positive); baseline: each line's format forced`,
      r.auto.falsePositives,
      'lines',
      r.forced.falsePositives,
      '0',
      r.auto.falsePositives === 0 && r.forced.falsePositives === 0,
    ),
  ];
});

await group('classify', [], async () => {
  const r = await cliThroughput(quick ? 200_000 : 1_000_000);
  return [
    figure(
      `fineprint classify FILE, ${r.lines} lines (${r.megabytes.toFixed(0)} MB) of the classifier's mixed stream, start-up excluded, CPU time; baseline: Node readline reading the same file`,
      r.linesPerSecond,
      'lines/s',
      r.readlinePerSecond,
      '-',
      null,
    ),
  ];
});

await group('rejoin', ['kafka', 'elasticsearch'], async () => {
  const configured = await rejoinAfterKill('10s', size.rejoins);
  const previous = await rejoinAfterKill('30s', size.rejoins);
  return [
    figure(
      `classifier SIGKILL -> a restarted one consumes a fresh record, median of ${configured.samples.length} (FINEPRINT_KAFKA_SESSION_TIMEOUT 10s, the default); baseline: the previous fixed 30 s session`,
      configured.median / 1000,
      's',
      previous.median / 1000,
      '< 15 s',
      configured.median < 15_000,
    ),
  ];
});

await group('fleet', ['kafka', 'elasticsearch'], async () => {
  const r = await fleetRates({
    brokers: (process.env.FINEPRINT_KAFKA_BROKERS ?? '').split(','),
    elasticsearchUrl: process.env.FINEPRINT_ELASTICSEARCH_URL ?? '',
    hosts: size.fleetHosts,
    recordsPerHost: 200,
    partitions: 12,
    incidents: size.fleetIncidents,
  });
  const simulated = `${r.hosts} simulated hosts, ${r.records} records (90% log lines, 8% Docker events, 2% kernel lines), ${r.partitions} partitions`;
  return [
    figure(`Kafka bytes on disk per collector record, ${simulated}; baseline: the record's JSON value`, r.kafkaBytesPerRecord, 'bytes', r.valueBytesPerRecord, '-', null),
    figure(`collector records into one Kafka broker, one producer process, 4 sends in flight, ${simulated}`, r.producedPerSecond, 'records/s', null, '-', null),
    figure(`Elasticsearch bytes per incident (OOM kill, 3 signals), ${r.incidents} filed, merged`, r.incidentBytes, 'bytes', null, '-', null),
    figure(`Elasticsearch bytes per piece of evidence, ${r.incidents * 3} filed, merged`, r.evidenceBytes, 'bytes', null, '-', null),
    figure(`incidents filed into Elasticsearch through the store, 33 (99 signals) a batch`, r.filedPerSecond, 'incidents/s', null, '-', null),
  ];
});

if (soakMinutes !== undefined) {
  const started = Date.now();
  try {
    const r = await soak(soakMinutes, (line) => process.stderr.write(`${line}\n`));
    const run = `soak ${r.minutes} min at ${Math.round(r.eventsPerSecond)} events/s (${r.containersStarted} storm containers, one replaced a minute)`;
    const slope = (name: 'collector' | 'classifier' | 'api', what: string) => {
      const m = r.memory[name];
      return figure(
        `${run}: ${what} RSS slope after the first fifth (${m.firstMiB.toFixed(0)} -> ${m.lastMiB.toFixed(0)} MiB); baseline: bare node + dockerode, same samples`,
        m.slopeMiBPerHour,
        'MiB/hour',
        r.memory.bare.slopeMiBPerHour,
        '<= 5 MiB/hour',
        m.slopeMiBPerHour <= 5,
      );
    };
    figures.push(
      slope('collector', 'collector'),
      slope('classifier', 'classifier'),
      slope('api', 'API'),
      figure(
        `${run}: the collector's log cursors left beyond the ${r.containersAtEnd} containers on the engine (${r.logCursors} log cursors, ${r.cursors} cursors in all, ${r.bufferRows} buffered rows)`,
        Math.max(0, r.logCursors - r.containersAtEnd),
        'keys',
        null,
        '0',
        r.logCursors <= r.containersAtEnd,
      ),
    );
  } catch (error) {
    failures.push(`soak: ${(error as Error).message.split('\n')[0]}`);
  }
  process.stderr.write(`soak: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

const report = { machine: endMachine(machine), figures };
console.log(`machine: ${describe(report.machine)}`);
console.log(`command: npm run bench --${quick ? ' --quick' : ''}${only ? ` --only ${only.join(',')}` : ''}${soakMinutes !== undefined ? ` --soak ${soakMinutes}` : ''}`);
console.log(table(figures));
for (const failure of failures) console.log(`FAILED ${failure}`);
// A full run is the published one: its table replaces the one in docs/benchmarks.md.
if (!quick && !only && soakMinutes === undefined && failures.length === 0) {
  const page = join(REPO_ROOT, 'docs', 'benchmarks.md');
  writeFileSync(page, withDocsTable(readFileSync(page, 'utf8'), report.machine, figures, new Date()));
  console.log(`wrote the table into ${page}`);
}
if (values.out) writeFileSync(values.out, `${JSON.stringify({ ...report, ...(failures.length > 0 ? { failures } : {}) }, null, 2)}\n`);
process.exitCode = failures.length > 0 ? 1 : 0;
