import { describe, expect, it } from 'vitest';
import { LiteralScanner } from '../../services/classifier/prefilter.js';

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
