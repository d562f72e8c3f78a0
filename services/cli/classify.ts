import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { FineprintError } from '../../shared/errors.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { LineFormat } from '../../shared/kb/schema.js';
import { LineSplitter } from '../../shared/line-splitter.js';
import { compileKb } from '../classifier/match.js';
import type { Target } from '../classifier/match.js';
import { recognizeLine, type DetectedFormat } from '../classifier/parse.js';

/** Bytes of a line that are kept and classified; the rest is counted, never buffered. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Longest `matched` text `--explain` prints for one detector. */
const MAX_EXPLAINED_CHARS = 1024;

/** One detector that matched a line, for `--explain`. */
export interface Explanation {
  kb: string;
  detector: string;
  /** The part of the line's message that the detector's regex matched (absent for Docker event fields). */
  matched?: string;
}

/** What `fineprint classify` writes for one input line. */
export interface ClassifiedLine {
  /** 1-based line number in the input. */
  line: number;
  /** KB entries whose single-record detectors match, in KB order. */
  kb: string[];
  /** The format the line was read as (`text`: no recognised prefix, every detector was tried). */
  format: DetectedFormat;
  /** With `--explain`: each detector that matched and the text it matched. */
  explain?: Explanation[];
  /** Bytes past MAX_LINE_BYTES that were not classified, for an over-long line. */
  truncatedBytes?: number;
}

export interface ClassifyOptions {
  /** The input format, or `auto` to recognise each line. */
  format: LineFormat;
  /** Add `explain` to each output object. */
  explain?: boolean;
}

/**
 * Classifies lines one at a time as `fineprint classify` does: the format (forced or recognised),
 * then the single-record detectors of the KB. Windows, sequences and evidence-only detectors need
 * context and are left to the live pipeline.
 */
export function lineClassifier(kb: KnowledgeBase, options: ClassifyOptions): (text: string, lineNumber: number) => ClassifiedLine {
  const compiled = compileKb(kb);
  const order = new Map(kb.entries.map((e, i) => [e.id, i]));
  const byKbOrder = (a: Target, b: Target) => (order.get(a.entry.id) ?? 0) - (order.get(b.entry.id) ?? 0);
  return (text, lineNumber) => {
    const recognized = recognizeLine(text, options.format, { host: 'classify', lineNumber });
    if (!recognized) return { line: lineNumber, kb: [], format: options.format === 'auto' ? 'text' : options.format };
    const { event, format } = recognized;
    const hits = format === 'text' ? compiled.matchAnyKind(event) : compiled.match(event);
    if (hits.length === 0) return options.explain ? { line: lineNumber, kb: [], format, explain: [] } : { line: lineNumber, kb: [], format };
    const targets = hits.filter((target) => target.type === 'single' && !target.evidenceOnly).sort(byKbOrder);
    const result: ClassifiedLine = { line: lineNumber, kb: [...new Set(targets.map((t) => t.entry.id))], format };
    if (options.explain) {
      result.explain = targets.map((target) => {
        const matched = compiled.matchedText(target, event.message)?.slice(0, MAX_EXPLAINED_CHARS);
        return { kb: target.entry.id, detector: target.detector.id, ...(matched !== undefined ? { matched } : {}) };
      });
    }
    return result;
  };
}

/**
 * JSON.stringify of the result, written out for the fields that need no escaping (ids and formats
 * are kebab-case words): the output of most lines is built without walking an object.
 */
function toJsonLine(result: ClassifiedLine): string {
  const kb = result.kb.length === 0 ? '[]' : `["${result.kb.join('","')}"]`;
  const explain = result.explain ? `,"explain":${JSON.stringify(result.explain)}` : '';
  const truncated = result.truncatedBytes !== undefined ? `,"truncatedBytes":${result.truncatedBytes}` : '';
  return `{"line":${result.line},"kb":${kb},"format":"${result.format}"${explain}${truncated}}\n`;
}

/** Resolves when the output takes more writes again, or is gone. */
function drained(output: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      output.off('drain', done);
      output.off('close', done);
      resolve();
    };
    output.on('drain', done);
    output.on('close', done);
  });
}

/**
 * `fineprint classify`: one JSON object a line, in input order. Streams: memory stays flat
 * whatever the input's size or line lengths. Returns the number of lines read.
 */
export async function classifyStream(kb: KnowledgeBase, options: ClassifyOptions, input: Readable, output: Writable): Promise<number> {
  const classify = lineClassifier(kb, options);
  let lineNumber = 0;
  let pending: string[] = [];
  const splitter = new LineSplitter(MAX_LINE_BYTES, (text, droppedBytes) => {
    lineNumber += 1;
    const result = classify(text, lineNumber);
    if (droppedBytes > 0) result.truncatedBytes = droppedBytes;
    pending.push(toJsonLine(result));
  });
  // A reader that went away (`| head`) ends the run quietly; another write error ends it loudly.
  let closed = false;
  let failure: Error | undefined;
  const onError = (error: NodeJS.ErrnoException) => {
    closed = true;
    if (error.code !== 'EPIPE') failure = error;
  };
  output.on('error', onError);
  const flush = async () => {
    if (pending.length === 0 || closed) return;
    const text = pending.join('');
    pending = [];
    if (!output.write(text)) await drained(output);
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      await flush();
      if (closed) break;
    }
    splitter.end();
    await flush();
  } finally {
    output.off('error', onError);
  }
  if (failure) throw failure;
  return lineNumber;
}

export function parseFormat(value: string | undefined): LineFormat {
  const result = LineFormat.safeParse(value ?? 'auto');
  if (!result.success) {
    throw new FineprintError('FP_BAD_REQUEST', `--source: "${value}" is not one of ${LineFormat.options.join(', ')}`);
  }
  return result.data;
}

export function openInput(file: string | undefined): Readable {
  if (!file || file === '-') return process.stdin;
  return createReadStream(file, { highWaterMark: 256 * 1024 });
}
