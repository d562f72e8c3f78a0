/**
 * Pure decoding of the Docker logs API: multiplexed frames (non-TTY containers), lines split across
 * chunks, and the RFC 3339 timestamp prefix that `timestamps: true` adds to every line.
 */
import { rfc3339ToNanos } from './position.js';

export type LogStreamName = 'stdout' | 'stderr';

export interface LogFrame {
  stream: LogStreamName;
  data: Buffer;
}

const HEADER_BYTES = 8;

/**
 * Splits the multiplexed stream into frames: an 8-byte header (stream type, 3 zero bytes, payload
 * length as uint32 big-endian) then the payload. Headers and payloads may be split across chunks.
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): LogFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: LogFrame[] = [];
    let offset = 0;
    while (this.pending.length - offset >= HEADER_BYTES) {
      const type = this.pending[offset];
      const length = this.pending.readUInt32BE(offset + 4);
      if (this.pending.length - offset - HEADER_BYTES < length) break;
      const data = this.pending.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
      // Type 0 (stdin) never carries log output; 2 is stderr, anything else is read as stdout.
      if (type !== 0) frames.push({ stream: type === 2 ? 'stderr' : 'stdout', data });
      offset += HEADER_BYTES + length;
    }
    this.pending = this.pending.subarray(offset);
    return frames;
  }
}

export interface TimestampedLine {
  /** Nanoseconds since the epoch. */
  t: bigint;
  message: string;
}

/** `2024-05-01T10:00:00.123456789Z message` -> its time and message; undefined without a timestamp. */
export function parseTimestampedLine(line: string): TimestampedLine | undefined {
  const space = line.indexOf(' ');
  const t = rfc3339ToNanos(space < 0 ? line : line.slice(0, space));
  if (t === undefined) return undefined;
  return { t, message: (space < 0 ? '' : line.slice(space + 1)).replace(/\r$/, '') };
}
