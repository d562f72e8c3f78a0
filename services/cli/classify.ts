import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { FineprintError } from '../../shared/errors.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { LineFormat } from '../../shared/kb/schema.js';
import { LineSplitter } from '../../shared/line-splitter.js';
import { compileKb } from '../classifier/match.js';
import type { Target } from '../classifier/match.js';
import { readLine, type DetectedFormat } from '../classifier/parse.js';

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

/** How `fineprint classify` writes its results. */
export const OUTPUT_FORMATS = ['json', 'text'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ClassifyOptions {
  /** The input format, or `auto` to recognise each line. */
  format: LineFormat;
  /** Add `explain` to each output object. */
  explain?: boolean;
  /** `json` (default): one object per input line, for programs; `text`: only the lines that matched, for people. */
  output?: OutputFormat;
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
    const recognized = readLine(text, options.format);
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

/** Longest part of a matched line that the text output shows. */
const MAX_SHOWN_CHARS = 200;
// eslint-disable-next-line no-control-regex -- control characters are what is being replaced
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** A line's text as a terminal may show it: cut, and no control character (no escape sequence reaches the terminal). */
const shown = (text: string, max: number): string =>
  (text.length > max ? `${text.slice(0, max)}…` : text).replace(CONTROL, '\uFFFD');

/**
 * The text output of a line for people: nothing for a line that matched nothing, else the line
 * number, the format it was read as and the line, then each KB entry with its title (and, with
 * `--explain`, what each detector matched).
 */
export function toTextLines(result: ClassifiedLine, text: string, kb: KnowledgeBase): string {
  if (result.kb.length === 0) return '';
  let out = `line ${result.line} (${result.format}): ${shown(text, MAX_SHOWN_CHARS)}\n`;
  if (result.truncatedBytes !== undefined) out += `  (${result.truncatedBytes} bytes past ${MAX_LINE_BYTES / 1024} KiB not classified)\n`;
  for (const id of result.kb) {
    out += `  ${id}: ${kb.byId.get(id)?.title ?? ''}\n`;
    for (const e of result.explain ?? []) {
      if (e.kb === id) out += `    ${e.detector}${e.matched !== undefined ? `: "${shown(e.matched, MAX_SHOWN_CHARS)}"` : ''}\n`;
    }
  }
  return out;
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

/** Bytes of output gathered before they are written: few large writes instead of one per line. */
const OUTPUT_BATCH_BYTES = 1024 * 1024;
const LINE_KEY = Buffer.from('{"line":');
const ZERO = 0x30;

/**
 * The output of a run, gathered as bytes. Most lines matched nothing: their object is the line
 * number between two constants of their format, copied, and no string is built for them.
 */
class OutputBatch {
  private bytes = Buffer.allocUnsafe(OUTPUT_BATCH_BYTES);
  private used = 0;
  /** `,"kb":[],"format":"<format>"}\n` by format. */
  private readonly unmatchedTails = new Map<DetectedFormat, Buffer>();

  constructor(private readonly write: (bytes: Buffer) => void) {}

  /** `{"line":N,"kb":[],"format":"F"}` and a newline. */
  unmatched(lineNumber: number, format: DetectedFormat): void {
    let tail = this.unmatchedTails.get(format);
    if (!tail) this.unmatchedTails.set(format, (tail = Buffer.from(`,"kb":[],"format":"${format}"}\n`)));
    // At most 16 digits for a line number (Number.MAX_SAFE_INTEGER).
    if (this.used + LINE_KEY.length + 16 + tail.length > this.bytes.length) this.flush();
    // Byte loops: Buffer#copy costs more than these few bytes.
    const bytes = this.bytes;
    let at = this.used;
    for (let i = 0; i < LINE_KEY.length; i += 1) bytes[at++] = LINE_KEY[i] as number;
    let digits = 1;
    for (let rest = lineNumber; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
    for (let i = digits - 1, rest = lineNumber; i >= 0; i -= 1, rest = Math.floor(rest / 10)) bytes[at + i] = ZERO + (rest % 10);
    at += digits;
    for (let i = 0; i < tail.length; i += 1) bytes[at++] = tail[i] as number;
    this.used = at;
  }

  /** Output as it is written: a matched line's JSON, the text output. */
  text(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    if (this.used + text.length * 3 > this.bytes.length) {
      this.flush();
      if (text.length * 3 > this.bytes.length) {
        this.write(Buffer.from(text));
        return;
      }
    }
    this.used += this.bytes.write(text, this.used);
  }

  /** Writes what is gathered, as a copy: the writer may keep it while this buffer fills again. */
  flush(): void {
    if (this.used === 0) return;
    this.write(Buffer.from(this.bytes.subarray(0, this.used)));
    this.used = 0;
  }
}

/**
 * `fineprint classify`: one JSON object a line, in input order (or, as text, the lines that matched
 * and a count at the end). Streams: memory stays flat whatever the input's size or line lengths.
 * Returns the number of lines read.
 */
export async function classifyStream(kb: KnowledgeBase, options: ClassifyOptions, input: Readable, output: Writable): Promise<number> {
  const classify = lineClassifier(kb, options);
  const asText = options.output === 'text';
  let lineNumber = 0;
  let matched = 0;
  // A reader that went away (`| head`) ends the run quietly; another write error ends it loudly.
  let closed = false;
  let full = false;
  let failure: Error | undefined;
  const batch = new OutputBatch((bytes) => {
    if (!closed && !output.write(bytes)) full = true;
  });
  const splitter = new LineSplitter(MAX_LINE_BYTES, (text, droppedBytes) => {
    lineNumber += 1;
    const result = classify(text, lineNumber);
    if (droppedBytes > 0) result.truncatedBytes = droppedBytes;
    if (asText) {
      if (result.kb.length === 0) return;
      matched += 1;
      batch.text(toTextLines(result, text, kb));
    } else if (result.kb.length === 0 && result.explain === undefined && result.truncatedBytes === undefined) {
      batch.unmatched(result.line, result.format);
    } else {
      batch.text(toJsonLine(result));
    }
  });
  const onError = (error: NodeJS.ErrnoException) => {
    closed = true;
    if (error.code !== 'EPIPE') failure = error;
  };
  output.on('error', onError);
  const drain = async () => {
    if (!full || closed) return;
    full = false;
    await drained(output);
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      // Each chunk's results go out before the next is read: lines piped in live are answered live.
      batch.flush();
      await drain();
      if (closed) break;
    }
    splitter.end();
    if (asText) batch.text(`${matched} of ${lineNumber} lines matched a KB entry.\n`);
    batch.flush();
    await drain();
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

export function parseOutputFormat(value: string | undefined): OutputFormat {
  const format = OUTPUT_FORMATS.find((f) => f === (value ?? 'json'));
  if (!format) throw new FineprintError('FP_BAD_REQUEST', `--format: "${value}" is not one of ${OUTPUT_FORMATS.join(', ')}`);
  return format;
}

export function openInput(file: string | undefined): Readable {
  if (!file || file === '-') return process.stdin;
  return createReadStream(file, { highWaterMark: 256 * 1024 });
}
