import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../shared/line-splitter.js';

describe('LineSplitter: lines of a byte stream, bounded', () => {
  const split = (chunks: (string | Buffer)[], max = 8) => {
    const lines: [string, number][] = [];
    const splitter = new LineSplitter(max, (text, dropped) => lines.push([text, dropped]));
    for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    splitter.end();
    return lines;
  };

  it('splits on LF, drops the CR of CRLF, keeps a last line without newline', () => {
    expect(split(['a\r\nb\n', '\nc'])).toEqual([['a', 0], ['b', 0], ['', 0], ['c', 0]]);
    expect(split([])).toEqual([]);
  });
  it('joins a line across chunks and caps it, counting the bytes it drops', () => {
    expect(split(['abc', 'defghij', 'kl\nxy\n'])).toEqual([['abcdefgh', 4], ['xy', 0]]);
    expect(split(['0123456789\n'])).toEqual([['01234567', 2]]);
  });
  it('decodes invalid UTF-8 to U+FFFD, keeps NUL bytes and characters split across chunks', () => {
    expect(split([Buffer.from([0x61, 0x00, 0xff, 0x0a])])).toEqual([['a\u0000\uFFFD', 0]]);
    const euro = Buffer.from('€\n');
    expect(split([euro.subarray(0, 1), euro.subarray(1)])).toEqual([['€', 0]]);
    const bytes = Buffer.from('héllo\nwor');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2), 'ld\n\nlast'], 1024)).toEqual([['héllo', 0], ['world', 0], ['', 0], ['last', 0]]);
  });
  it('keeps the first bytes of an over-long line and skips the rest up to its newline, whatever the chunks', () => {
    const long = `${'x'.repeat(10)}${'y'.repeat(3 * 1024 * 1024)}`;
    const bytes = Buffer.from(`short\n${long}\nafter\n${long}`);
    for (const size of [1000, 65536, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const dropped = 3 * 1024 * 1024;
      expect(split(chunks, 10), `chunks of ${size}`).toEqual([['short', 0], ['x'.repeat(10), dropped], ['after', 0], ['x'.repeat(10), dropped]]);
    }
  });
});
