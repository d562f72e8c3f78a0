import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { FineprintError } from '../../shared/errors.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { LineFormat } from '../../shared/kb/schema.js';
import { compileKb, parseLine } from '../classifier/index.js';

/**
 * `fineprint classify`: one JSON object a line, in input order, naming the KB entries whose
 * single-record detectors match that line. Windows, sequences and evidence-only detectors need
 * context and are left to the live pipeline.
 */
export async function classifyStream(kb: KnowledgeBase, format: LineFormat, input: Readable, output: Writable): Promise<number> {
  const compiled = compileKb(kb);
  const order = new Map(kb.entries.map((e, i) => [e.id, i]));
  let lineNumber = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNumber += 1;
    const event = parseLine(line, format, { host: 'classify', lineNumber });
    const ids = new Set<string>();
    for (const target of event ? compiled.match(event) : []) {
      if (target.type === 'single' && !target.evidenceOnly) ids.add(target.entry.id);
    }
    const kbIds = [...ids].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    if (!output.write(`${JSON.stringify({ line: lineNumber, kb: kbIds })}\n`)) {
      await new Promise((resolve) => output.once('drain', resolve));
    }
  }
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
  const stream = createReadStream(file);
  return stream;
}
