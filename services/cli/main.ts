import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config.js';
import { commonConfig } from '../../shared/config.js';
import { FineprintError } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import { classifyStream, openInput, parseFormat } from './classify.js';
import { checkKbDocs, driftCount, writeKbDocs } from './kb-docs.js';
import { detectionOf, renderEntryText, renderKbDocs } from './kb-render.js';
import { startApiProcess } from '../api/run.js';
import { startClassifierProcess } from '../classifier/run.js';
import { startCollectorProcess } from '../collector/run.js';
import { startAllInOne } from './start.js';
import { auditCommand } from '../audit/cli.js';
import { demoCommand } from './demo.js';

const USAGE = `Usage: fineprint <command> [options]

Commands:
  start                     Run fineprint all-in-one on this host (collector, classifier, API)
  collector                 Distributed: watch this host, send to Kafka (FINEPRINT_KAFKA_BROKERS)
  classifier                Distributed: classify events from Kafka into incident updates
  api                       Distributed: file incidents into Elasticsearch, serve the REST API
  classify [--source FMT] [--explain] [FILE|-]
                            Classify lines (one record a line) against the knowledge base;
                            FMT: auto (default), kmsg, dmesg, syslog, journal-json, docker-event,
                            docker-log, cri, log, kernel; --explain adds each matching detector
                            and the text it matched
  kb list                   List the knowledge base entries
  kb show ID                Show one entry: why it happens, how to fix it
  kb docs [--check] [DIR]   Write the reference pages (default docs/kb); --check exits 1 on drift
  audit [--json] [--fail-on SEVERITY] [--all] [CONTAINER...]
                            Audit the daemon and running containers for fine print (DOCKER_HOST);
                            --fail-on info|low|medium|high|critical exits 1 on such findings
  demo [--image IMAGE] [--timeout SECONDS]
                            Start throwaway containers on DOCKER_HOST that hit the fine print,
                            show the incidents the running fineprint files, remove them
  help                      Show this help

Configuration comes from the environment (see README.md, "Configuration").`;

function fail(message: string): number {
  process.stderr.write(`fineprint: ${message}\n`);
  return 2;
}

/** How long a graceful stop may take before the process exits anyway (orchestrators SIGKILL at 30 s). */
const STOP_DEADLINE_MS = 20_000;

/**
 * Runs a long-lived role until SIGINT or SIGTERM, stops it gracefully, then exits: client libraries
 * (Kafka, Elasticsearch) may keep timers alive after their disconnect.
 */
async function runUntilSignal(start: () => Promise<{ stop(): Promise<void> }>): Promise<never> {
  const running = await start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const deadline = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), STOP_DEADLINE_MS).unref());
  const outcome = await Promise.race([running.stop().then(() => 'stopped' as const), deadline]);
  if (outcome === 'late') process.stderr.write(`fineprint: graceful stop took over ${STOP_DEADLINE_MS / 1000}s; exiting\n`);
  process.exit(outcome === 'late' ? 1 : 0);
}

async function classify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { source: { type: 'string', short: 's' }, explain: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length > 1) return fail('classify takes at most one FILE (or - for standard input)');
  const format = parseFormat(values.source);
  const kb = loadKnowledgeBase(loadConfig(commonConfig).FINEPRINT_KB_DIR);
  const input = openInput(positionals[0]);
  await classifyStream(kb, { format, explain: values.explain ?? false }, input, process.stdout);
  return 0;
}

function kb(args: string[]): number {
  const entries = loadKnowledgeBase(loadConfig(commonConfig).FINEPRINT_KB_DIR);
  const [sub, id] = args;
  if (sub === 'list') {
    const width = Math.max(...entries.entries.map((e) => e.id.length));
    for (const e of entries.entries) {
      process.stdout.write(`${e.id.padEnd(width)}  ${e.severity.padEnd(8)}  ${detectionOf(e).padEnd(7)}  ${e.title}\n`);
    }
    return 0;
  }
  if (sub === 'show' && id) {
    const entry = entries.byId.get(id);
    if (!entry) return fail(`no KB entry "${id}" (see: fineprint kb list)`);
    process.stdout.write(renderEntryText(entry));
    return 0;
  }
  if (sub === 'docs') {
    const { values, positionals } = parseArgs({ args: args.slice(1), options: { check: { type: 'boolean' } }, allowPositionals: true });
    if (positionals.length > 1) return fail('kb docs takes at most one DIR');
    const dir = resolve(positionals[0] ?? join(PACKAGE_ROOT, 'docs', 'kb'));
    const pages = renderKbDocs(entries);
    const drift = values.check ? checkKbDocs(dir, pages) : writeKbDocs(dir, pages);
    const report = [
      ...drift.missing.map((f) => `missing  ${join(dir, f)}`),
      ...drift.changed.map((f) => `changed  ${join(dir, f)}`),
      ...drift.extra.map((f) => `extra    ${join(dir, f)}`),
    ];
    if (values.check) {
      if (driftCount(drift) === 0) return 0;
      process.stderr.write(`fineprint: docs drift from kb/ (run: npm run docs:kb):\n${report.join('\n')}\n`);
      return 1;
    }
    process.stdout.write(`${pages.size} pages in ${dir}, ${driftCount(drift)} written or removed\n`);
    return 0;
  }
  return fail('usage: fineprint kb list | fineprint kb show ID | fineprint kb docs [--check] [DIR]');
}

/** Runs the CLI; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await runUntilSignal(() => startAllInOne());
      case 'collector':
        return await runUntilSignal(() => startCollectorProcess());
      case 'classifier':
        return await runUntilSignal(() => startClassifierProcess());
      case 'api':
        return await runUntilSignal(() => startApiProcess());
      case 'classify':
        return await classify(rest);
      case 'kb':
        return kb(rest);
      case 'audit':
        return await auditCommand(rest);
      case 'demo':
        return await demoCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        return fail(`unknown command "${command}"\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof FineprintError) return fail(`${error.code}: ${error.message}`);
    if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS')) {
      return fail(error.message);
    }
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return fail(error.message);
    throw error;
  }
}
