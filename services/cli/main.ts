import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config.js';
import { commonConfig } from '../../shared/config.js';
import { FineprintError } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { join, resolve } from 'node:path';
import { PACKAGE_ROOT, PACKAGE_VERSION } from '../../shared/paths.js';
import { classifyStream, openInput, parseFormat, parseOutputFormat } from './classify.js';
import { checkKbDocs, driftCount, writeKbDocs } from './kb-docs.js';
import { detectionOf, renderEntryText, renderKbDocs } from './kb-render.js';
import { ApiRefused } from './api-client.js';
import { incidentsCommand, INCIDENTS_USAGE, silencesCommand, SILENCES_USAGE, whoamiCommand } from './client.js';
import { closestIds } from './kb-suggest.js';
import { notifyCommand, NOTIFY_USAGE } from './notify-test.js';

const USAGE = `Usage: fineprint <command> [options]

Commands:
  start                     Run fineprint all-in-one on this host (collector, classifier, API)
  collector                 Distributed: watch this host, send to Kafka (FINEPRINT_KAFKA_BROKERS)
  classifier                Distributed: classify events from Kafka into incident updates
  api                       Distributed: file incidents into Elasticsearch, serve the REST API
  classify [--source FMT] [--explain] [--format json|text] [FILE|-]
                            Classify lines (one record a line) against the knowledge base;
                            FMT: auto (default), kmsg, dmesg, syslog, journal-json, docker-event,
                            docker-log, cri, log, kernel; --explain adds each matching detector
                            and the text it matched; --format text prints only the lines that
                            matched, with each entry's title (default json: one object a line)
  kb list                   List the knowledge base entries
  kb show ID                Show one entry: why it happens, how to fix it
  kb docs [--check] [DIR]   Write the reference pages (default docs/kb); --check exits 1 on drift
  config docs [--check] [FILE]
                            Write the configuration reference (default docs/configuration.md);
                            --check exits 1 on drift
  audit [--json] [--fail-on SEVERITY] [--all] [CONTAINER...]
                            Audit the daemon and running containers for fine print (DOCKER_HOST);
                            --fail-on info|low|medium|high|critical exits 1 on such findings
  demo [--image IMAGE] [--timeout SECONDS]
                            Start throwaway containers on DOCKER_HOST that hit the fine print,
                            show the incidents the running fineprint files, remove them
  incidents list|show|ack|resolve
                            A running fineprint's incidents (FINEPRINT_URL, FINEPRINT_TOKEN)
  silences list|add|expire  Its silences
  whoami                    The name and scope of FINEPRINT_TOKEN
  notify test RECEIVER      Send a test notification through a receiver of FINEPRINT_NOTIFY_CONFIG
  mcp                       Serve the Model Context Protocol on stdio for an assistant: search
                            incidents, read one with its fix, list risks, audit a container
                            (FINEPRINT_URL, FINEPRINT_TOKEN: a read token)
  help [COMMAND]            Show this help, or a command's (also: COMMAND --help)
  --version                 Print fineprint's version

Configuration comes from the environment (see docs/configuration.md); docs/cli.md describes
every command.`;

/** Help of the commands that have more than their USAGE entries. */
const COMMAND_USAGE: Record<string, string> = { incidents: INCIDENTS_USAGE, silences: SILENCES_USAGE, notify: NOTIFY_USAGE };

/** A command's help: its own, else its entries of USAGE (with their continuation lines). */
function usageOf(command: string): string | undefined {
  if (COMMAND_USAGE[command]) return COMMAND_USAGE[command];
  const entries: string[] = [];
  let inEntry = false;
  for (const line of USAGE.split('\n')) {
    if (/^ {2}\S/.test(line)) inEntry = line.slice(2).split(' ')[0] === command;
    else if (!/^ {4,}\S/.test(line)) inEntry = false;
    if (inEntry) entries.push(line);
  }
  return entries.length > 0 ? `Usage: fineprint ${command} [options]\n\n${entries.join('\n')}\n\nConfiguration comes from the environment (see docs/configuration.md).` : undefined;
}

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
  // A role that cannot start (a bad setting, a port in use) may have connected some clients already.
  const running = await start().catch((error: unknown) => process.exit(fail(messageOf(error))));
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
    options: { source: { type: 'string', short: 's' }, explain: { type: 'boolean' }, format: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length > 1) return fail('classify takes at most one FILE (or - for standard input)');
  const format = parseFormat(values.source);
  const output = parseOutputFormat(values.format);
  const kb = loadKnowledgeBase(loadConfig(commonConfig).FINEPRINT_KB_DIR);
  const input = openInput(positionals[0]);
  await classifyStream(kb, { format, explain: values.explain ?? false, output }, input, process.stdout);
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
    if (!entry) {
      const close = closestIds(id, [...entries.byId.keys()]);
      return fail(`no KB entry "${id}"${close.length > 0 ? `; did you mean ${close.join(' or ')}?` : ''} (see: fineprint kb list)`);
    }
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

async function config(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'docs') return fail('usage: fineprint config docs [--check] [FILE]');
  const { values, positionals } = parseArgs({ args: rest, options: { check: { type: 'boolean' } }, allowPositionals: true });
  if (positionals.length > 1) return fail('config docs takes at most one FILE');
  const file = resolve(positionals[0] ?? join(PACKAGE_ROOT, 'docs', 'configuration.md'));
  const { configDocsCurrent, renderConfigDocs } = await import('./config-docs.js');
  const text = renderConfigDocs();
  if (configDocsCurrent(file, text)) return 0;
  if (values.check) {
    process.stderr.write(`fineprint: ${file} drifted from the configuration schemas (run: npm run docs:config)\n`);
    return 1;
  }
  writeFileSync(file, text);
  process.stdout.write(`${file} written\n`);
  return 0;
}

/** What a failure says on stderr: one line for the errors a user can fix, a stack trace only for bugs. */
function messageOf(error: unknown): string {
  if (error instanceof FineprintError) return `${error.code}: ${error.message}`;
  if (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS')) return error.message;
  if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return error.message;
  throw error;
}

/** Output into a pipe its reader closed (`fineprint kb list | head`) ends the command quietly. */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

/** Runs the CLI; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  quietOnClosedPipe(process.stdout);
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`fineprint ${PACKAGE_VERSION}\n`);
    return 0;
  }
  const help = command === 'help' ? (rest[0]?.startsWith('-') ? undefined : rest[0]) : command !== 'demo' && (rest.includes('--help') || rest.includes('-h')) ? command : undefined;
  if (help !== undefined) {
    const usage = usageOf(help);
    if (!usage) return fail(`unknown command "${help}"\n${USAGE}`);
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    switch (command) {
      // Each command loads what it runs, so a quick one (kb, incidents) starts quickly.
      case 'start':
        return await runUntilSignal(async () => (await import('../all-in-one/run.js')).startAllInOne());
      case 'collector':
        return await runUntilSignal(async () => (await import('../collector/run.js')).startCollectorProcess());
      case 'classifier':
        return await runUntilSignal(async () => (await import('../classifier/run.js')).startClassifierProcess());
      case 'api':
        return await runUntilSignal(async () => (await import('../api/run.js')).startApiProcess());
      case 'classify':
        return await classify(rest);
      case 'kb':
        return kb(rest);
      case 'config':
        return await config(rest);
      case 'audit':
        return await (await import('../audit/cli.js')).auditCommand(rest);
      case 'demo':
        return await (await import('./demo.js')).demoCommand(rest);
      case 'incidents':
        return await incidentsCommand(rest);
      case 'silences':
        return await silencesCommand(rest);
      case 'whoami':
        return await whoamiCommand();
      case 'mcp':
        // Loaded here: the MCP SDK is needed by this command only.
        return await (await import('./mcp.js')).mcpCommand();
      case 'notify':
        return await notifyCommand(rest);
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
    if (error instanceof ApiRefused) {
      process.stderr.write(`fineprint: the API answered ${error.status} ${error.code}: ${error.message}\n`);
      return 1;
    }
    return fail(messageOf(error));
  }
}
