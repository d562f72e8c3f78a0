import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config.js';
import { commonConfig } from '../../shared/config.js';
import { FineprintError } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { classifyStream, openInput, parseFormat } from './classify.js';
import { startAllInOne } from './start.js';

const USAGE = `Usage: fineprint <command> [options]

Commands:
  start                     Run fineprint all-in-one on this host (collector, classifier, API)
  classify [--source FMT] [FILE|-]
                            Classify lines (one record a line) against the knowledge base;
                            FMT: auto (default), kmsg, dmesg, syslog, docker-event, docker-log, log
  kb list                   List the knowledge base entries
  kb show ID                Show one entry: why it happens, how to fix it
  help                      Show this help

Configuration comes from the environment (see README.md, "Configuration").`;

function fail(message: string): number {
  process.stderr.write(`fineprint: ${message}\n`);
  return 2;
}

async function start(): Promise<number> {
  const running = await startAllInOne();
  await new Promise<void>((resolve) => {
    const shutdown = () => resolve();
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  await running.stop();
  return 0;
}

async function classify(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { source: { type: 'string', short: 's' } }, allowPositionals: true });
  if (positionals.length > 1) return fail('classify takes at most one FILE (or - for standard input)');
  const format = parseFormat(values.source);
  const kb = loadKnowledgeBase(loadConfig(commonConfig).FINEPRINT_KB_DIR);
  const input = openInput(positionals[0]);
  await classifyStream(kb, format, input, process.stdout);
  return 0;
}

function kb(args: string[]): number {
  const entries = loadKnowledgeBase(loadConfig(commonConfig).FINEPRINT_KB_DIR);
  const [sub, id] = args;
  if (sub === 'list') {
    const width = Math.max(...entries.entries.map((e) => e.id.length));
    for (const e of entries.entries) process.stdout.write(`${e.id.padEnd(width)}  ${e.severity.padEnd(8)}  ${e.title}\n`);
    return 0;
  }
  if (sub === 'show' && id) {
    const entry = entries.byId.get(id);
    if (!entry) return fail(`no KB entry "${id}" (see: fineprint kb list)`);
    const lines = [
      `${entry.id}: ${entry.title} [${entry.severity}]`,
      `From the talk: ${entry.talk}`,
      '',
      'Why:',
      `  ${entry.why.trim().replace(/\n/g, '\n  ')}`,
      '',
      'Fix:',
      ...entry.fix.map((f) => `  - ${f}`),
      '',
      'References:',
      ...entry.references.map((r) => `  - ${r.title}: ${r.url}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }
  return fail('usage: fineprint kb list | fineprint kb show ID');
}

/** Runs the CLI; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await start();
      case 'classify':
        return await classify(rest);
      case 'kb':
        return kb(rest);
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
