import { describe, expect, it } from 'vitest';
import { LogDemuxer, parseTimestampedLine } from '../../services/collector/log-stream.js';
import { advance, decodePosition, encodePosition, isAtOrBefore, nanosToSince, rfc3339ToNanos } from '../../services/collector/position.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('LogDemuxer', () => {
  it('splits frames whatever the chunk boundaries', () => {
    const bytes = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err ☃\n'), frame(1, 'out two\n')]);
    for (let size = 1; size <= bytes.length; size++) {
      const demuxer = new LogDemuxer();
      const got: Record<string, Buffer[]> = { stdout: [], stderr: [] };
      for (let i = 0; i < bytes.length; i += size) {
        for (const f of demuxer.push(bytes.subarray(i, i + size))) got[f.stream]!.push(f.data);
      }
      expect(Buffer.concat(got.stdout!).toString(), `chunks of ${size}`).toBe('out one\nout two\n');
      expect(Buffer.concat(got.stderr!).toString(), `chunks of ${size}`).toBe('err ☃\n');
    }
  });
});

describe('timestamps', () => {
  it('parses Docker RFC 3339 times to the nanosecond, trimmed fractions included', () => {
    expect(rfc3339ToNanos('2026-11-27T18:05:13.319133492Z')).toBe(1795802713319133492n);
    expect(rfc3339ToNanos('2026-11-27T18:05:13.3Z')).toBe(1795802713300000000n);
    expect(rfc3339ToNanos('2026-11-27T19:05:13+01:00')).toBe(1795802713000000000n);
    expect(rfc3339ToNanos('0001-01-01T00:00:00Z')).toBeLessThan(0n);
    expect(rfc3339ToNanos('yesterday')).toBeUndefined();
    expect(nanosToSince(1795802713000000042n)).toBe('1795802713.000000042');
  });

  it('splits a timestamped log line', () => {
    expect(parseTimestampedLine('2026-11-27T18:16:01.088339502Z No space left on device\r')).toEqual({
      t: 1795803361088339502n,
      message: 'No space left on device',
    });
    expect(parseTimestampedLine('2026-11-27T18:16:01.088339502Z ')?.message).toBe('');
    expect(parseTimestampedLine('no timestamp here')).toBeUndefined();
  });
});

describe('positions', () => {
  it('skip what was read at or before them, including keys seen at the same instant', () => {
    let p = advance(undefined, 10n, 'a');
    p = advance(p, 10n, 'b');
    expect(isAtOrBefore(p, 9n, 'x')).toBe(true);
    expect(isAtOrBefore(p, 10n, 'b')).toBe(true);
    expect(isAtOrBefore(p, 10n, 'c')).toBe(false);
    expect(isAtOrBefore(p, 11n, 'a')).toBe(false);
    expect(advance(p, 5n, 'late')).toBe(p);
    expect(decodePosition(encodePosition(p))).toEqual({ t: 10n, seen: ['a', 'b'] });
    expect(decodePosition('garbage')).toBeUndefined();
  });
});
