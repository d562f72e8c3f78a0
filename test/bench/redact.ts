// The redactor on hostile lines (test/support/secret-shapes.ts): the worst time per line over every
// family, at 16 KiB (the longest message an event keeps) and at 1 MiB (a line as read, before the
// cut), against the regex redactor it replaced. That baseline backtracks for minutes on some
// lines, so it runs in a worker thread that is terminated when its time is up.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { redactText } from '../../shared/redact.js';
import { HOSTILE_LINES } from '../support/secret-shapes.js';

/** The previous shared/redact.ts redactText: unbounded runs around the keyword, kept as the baseline. */
function baselineRedact(text: string): string {
  const name = '(?:[A-Za-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|auth)[A-Za-z0-9_.-]*)';
  const named = new RegExp(`(${name}["']?\\s*[=:]\\s*["']?|--?${name}(?:\\s+|=))([^\\s"',;&]+)`, 'gi');
  const url = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi;
  const tokens = [
    /\b(Bearer\s+)([A-Za-z0-9._~+/-]{8,}=*)/g,
    /\b()(AKIA[0-9A-Z]{16})\b/g,
    /\b()(gh[pousr]_[A-Za-z0-9]{20,})\b/g,
    /\b()(xox[abposr]-[A-Za-z0-9-]{10,})\b/g,
    /\b()(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})\b/g,
  ];
  let out = text.replace(named, (_m, prefix: string) => `${prefix}[REDACTED]`);
  out = out.replace(url, (_m, before: string, _secret: string, at: string) => `${before}[REDACTED]${at}`);
  for (const pattern of tokens) out = out.replace(pattern, (_m, prefix: string) => `${prefix}[REDACTED]`);
  return out;
}

interface BaselineJob {
  redactBaseline: true;
  family: string;
  length: number;
}

// Worker side: time the baseline once on one line and report.
if (!isMainThread && (workerData as BaselineJob | undefined)?.redactBaseline) {
  const job = workerData as BaselineJob;
  const line = (HOSTILE_LINES[job.family] as (length: number) => string)(job.length);
  const started = performance.now();
  baselineRedact(line);
  parentPort?.postMessage(performance.now() - started);
}

/** Milliseconds the baseline takes on one line, or Infinity when it is still running after `timeoutMs`. */
function timeBaseline(family: string, length: number, timeoutMs: number): Promise<number> {
  const job: BaselineJob = { redactBaseline: true, family, length };
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => void worker.terminate().then(() => resolve(Infinity)), timeoutMs);
    worker.once('message', (ms: number) => {
      clearTimeout(timer);
      void worker.terminate().then(() => resolve(ms));
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Median milliseconds of `run` over repeated calls, for at least `minMs` and 3 calls. */
function medianMs(run: () => void, minMs: number): number {
  const times: number[] = [];
  let spent = 0;
  while (spent < minMs || times.length < 3) {
    const started = performance.now();
    run();
    const ms = performance.now() - started;
    times.push(ms);
    spent += ms;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** The worst family at one line length: its name and time, and the baseline's worst. */
export interface RedactWorstCase {
  length: number;
  family: string;
  ms: number;
  baselineFamily: string;
  /** Infinity when the baseline was stopped at `baselineTimeoutMs` on some family. */
  baselineMs: number;
}

export interface RedactResult {
  families: number;
  baselineTimeoutMs: number;
  /** Lines of 16 KiB and 1 MiB redacted whole. */
  worst: RedactWorstCase[];
  /** A 1 MiB line the way the collector takes it: cut to 16 KiB, then redacted. */
  collectorPath: { family: string; ms: number; baselineFamily: string; baselineMs: number };
}

const KiB = 1024;

export async function redactWorstCase(baselineTimeoutMs: number): Promise<RedactResult> {
  const families = Object.keys(HOSTILE_LINES);
  const line = (family: string, length: number) => (HOSTILE_LINES[family] as (length: number) => string)(length);
  const lengths = [16 * KiB, 1024 * KiB];
  // Every path of the redactor compiled before anything is timed.
  for (let pass = 0; pass < 5; pass += 1) for (const family of families) redactText(line(family, 16 * KiB), Infinity);
  const worst: RedactWorstCase[] = lengths.map((length) => {
    const row: RedactWorstCase = { length, family: '', ms: -1, baselineFamily: '', baselineMs: -1 };
    for (const family of families) {
      const text = line(family, length);
      const ms = medianMs(() => redactText(text, Infinity), length <= 16 * KiB ? 200 : 500);
      if (ms > row.ms) Object.assign(row, { family, ms });
    }
    return row;
  });
  // The collector before: the whole line redacted, then cut; now: cut, then redacted.
  const collectorPath = { family: '', ms: -1, baselineFamily: '', baselineMs: -1 };
  for (const family of families) {
    const text = line(family, 1024 * KiB);
    const ms = medianMs(() => redactText(text), 200);
    if (ms > collectorPath.ms) Object.assign(collectorPath, { family, ms });
  }
  // The baseline last: a worker stuck in a backtracking regex may take a while to stop.
  /** Families the baseline did not finish at a shorter length: longer lines take longer still. */
  const unfinished = new Set<string>();
  for (const row of worst) {
    for (const family of families) {
      const baselineMs = unfinished.has(family) ? Infinity : await timeBaseline(family, row.length, baselineTimeoutMs);
      if (baselineMs === Infinity) unfinished.add(family);
      if (baselineMs > row.baselineMs) Object.assign(row, { baselineFamily: family, baselineMs });
    }
  }
  const oneMiB = worst[1] as RedactWorstCase;
  Object.assign(collectorPath, { baselineFamily: oneMiB.baselineFamily, baselineMs: oneMiB.baselineMs });
  return { families: families.length, baselineTimeoutMs, worst, collectorPath };
}
