// What `fineprint classify` gets right on real pasted lines (test/corpus/*.jsonl: recall and false
// positives, auto-detected against each line's own format forced), and how fast the real CLI goes
// through a large file, against the bare cost of reading its lines in Node.
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { BIN } from '../support/fineprint.js';
import { loadCorpus, scoreCorpus, type CorpusScore } from '../support/corpus.js';
import { mixedLines } from './classifier.js';

export interface CorpusResult {
  lines: number;
  files: number;
  problems: number;
  auto: CorpusScore;
  forced: CorpusScore;
}

export function corpusScores(): CorpusResult {
  const kb = loadKnowledgeBase();
  const { lines, problems } = loadCorpus(kb);
  return {
    lines: lines.length,
    files: new Set(lines.map((l) => l.at.split(':')[0])).size,
    problems: problems.length,
    auto: scoreCorpus(kb, lines, 'auto'),
    forced: scoreCorpus(kb, lines, 'forced'),
  };
}

export interface CliThroughput {
  lines: number;
  megabytes: number;
  /** Lines per CPU second through `fineprint classify FILE`, start-up (KB load) excluded. */
  linesPerSecond: number;
  /** Lines per CPU second Node's readline reads from the same file, doing nothing with them. */
  readlinePerSecond: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** `times` prints `0m2.931s 0m0.219s`: minutes and seconds. */
const secondsOf = (time: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(time);
  if (!m) throw new Error(`unexpected output of times: ${time}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

/**
 * CPU seconds (user + system) of `fineprint classify FILE`, as the shell's `times` counts its
 * children: CPU time, which the machine's load does not stretch as it does wall time.
 */
function secondsOfCli(file: string): number {
  const script = '"$@" > /dev/null && times';
  const result = spawnSync('bash', ['-c', script, 'bash', process.execPath, BIN, 'classify', file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`fineprint classify failed: ${result.stderr}`);
  // Two lines: the shell's own times, then its children's.
  const children = result.stdout.trim().split('\n').at(-1) ?? '';
  return children.split(' ').reduce((sum, time) => sum + secondsOf(time), 0);
}

async function secondsOfReadline(file: string): Promise<number> {
  const start = process.cpuUsage();
  let count = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line) count += 1;
  if (count === 0) throw new Error('empty bench file');
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** The real CLI on `count` lines of the classifier bench's mixed stream, median of `runs` runs. */
export async function cliThroughput(count: number, runs = 3): Promise<CliThroughput> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-bench-classify-'));
  try {
    const file = join(dir, 'lines.txt');
    const empty = join(dir, 'empty.txt');
    const text = `${mixedLines(count).join('\n')}\n`;
    writeFileSync(file, text);
    writeFileSync(empty, '');
    const full: number[] = [];
    const startup: number[] = [];
    const readline: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      startup.push(secondsOfCli(empty));
      full.push(secondsOfCli(file));
      readline.push(await secondsOfReadline(file));
    }
    return {
      lines: count,
      megabytes: Buffer.byteLength(text) / 1e6,
      linesPerSecond: count / Math.max(1e-3, median(full) - median(startup)),
      readlinePerSecond: count / median(readline),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
