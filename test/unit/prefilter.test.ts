import { describe, expect, it } from 'vitest';
import { compileKb, parseLine } from '../../services/classifier/index.js';
import type { NormalizedEvent } from '../../shared/event.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { LiteralScanner, logLineFilter } from '../../shared/kb/prefilter.js';
import { loadCorpus } from '../support/corpus.js';

const found = (scanner: LiteralScanner, text: string): number[] => {
  const count = scanner.scan(text);
  return Array.from({ length: count }, (_, i) => scanner.foundAt(i)).sort((a, b) => a - b);
};

describe('LiteralScanner', () => {
  it('reports every literal that occurs, overlapping or nested, once, folding ASCII case', () => {
    const scanner = new LiteralScanner(['he', 'she', 'hers', 'No space left', 'épée']);
    expect(found(scanner, 'ushers')).toEqual([0, 1, 2]);
    expect(found(scanner, 'hehehe')).toEqual([0]);
    expect(found(scanner, 'dd: NO SPACE LEFT on device')).toEqual([3]);
    expect(found(scanner, 'xyz')).toEqual([]);
    expect(found(scanner, '')).toEqual([]);
    // Non-ASCII characters share one symbol: a superset, never a miss.
    expect(found(scanner, 'épée')).toEqual([4]);
    expect(found(scanner, 'àpàe')).toEqual([4]);
  });
  it('agrees with a substring search on every literal over many lines', () => {
    const literals = ['oom-kill', 'Killed process', 'fork rejected', 'table full', 'no space', 'ss', 'kill'];
    const scanner = new LiteralScanner(literals);
    const words = ['oom', '-', 'kill', 'Killed', ' ', 'process', 'fork', 'rejected', 'table', 'full', 'No', 'space', 's', 'x'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let n = 0; n < 2000; n += 1) {
      const text = Array.from({ length: 1 + Math.floor(random() * 12) }, () => words[Math.floor(random() * words.length)]).join('');
      const expected = literals.flatMap((l, id) => (text.toLowerCase().includes(l.toLowerCase()) ? [id] : []));
      expect(found(scanner, text), text).toEqual(expected);
    }
  });
});

describe('LiteralScanner with a long shortest literal (windows that jump)', () => {
  it('agrees with a substring search on the KB literals over lines built from their pieces', () => {
    const literals = ['oom-kill:constraint=', 'No space left on device', 'fork rejected by pids', 'Killed process', 'épée sharpened'];
    const scanner = new LiteralScanner(literals);
    const pieces = literals.flatMap((l) => [l, l.slice(0, 5), l.slice(3), l.slice(-6)]).concat([' ', 'x', 'é', 'KILLED PROCESS']);
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const fold = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());
    for (let n = 0; n < 3000; n += 1) {
      const text = Array.from({ length: Math.floor(random() * 10) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      const expected = literals.flatMap((l, id) => (fold(text).includes(fold(l)) ? [id] : []));
      expect(found(scanner, text), text).toEqual(expected);
    }
  });
});

describe('logLineFilter (what the collector forwards of container logs)', () => {
  const kb = loadKnowledgeBase();
  const accept = logLineFilter(kb);
  const compiled = compileKb(kb);

  it('keeps every corpus line that a log detector matches as a log line', () => {
    const { lines } = loadCorpus(kb);
    let kept = 0;
    for (const [index, { line }] of lines.entries()) {
      const message = (parseLine(line, 'auto', { host: 'test', lineNumber: index + 1 }) as NormalizedEvent).message;
      if (compiled.match({ kind: 'log', message, container: { id: 'c'.repeat(64) } }).length === 0) continue;
      expect(accept(message), line).toBe(true);
      kept += 1;
    }
    expect(kept).toBeGreaterThan(50);
  });

  it('drops ordinary application output', () => {
    for (const message of ['GET /health 200', '{"level":"info","msg":"request completed"}', 'LOG:  checkpoint complete: wrote 12 buffers', '']) {
      expect(accept(message), message).toBe(false);
    }
    expect(accept('java.lang.OutOfMemoryError: Java heap space')).toBe(true);
  });
});
