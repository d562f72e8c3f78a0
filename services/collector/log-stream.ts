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

/** A line longer than this without a newline is emitted anyway (events keep 16 KiB of it). */
const MAX_PENDING_BYTES = 1024 * 1024;

/** Splits bytes into lines; keeps an incomplete last line (and split UTF-8 characters) for later. */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const lines: string[] = [];
    let newline: number;
    while ((newline = buffer.indexOf(0x0a)) >= 0) {
      lines.push(buffer.subarray(0, newline).toString('utf8'));
      buffer = buffer.subarray(newline + 1);
    }
    if (buffer.length > MAX_PENDING_BYTES) {
      lines.push(buffer.toString('utf8'));
      buffer = Buffer.alloc(0);
    }
    this.pending = buffer;
    return lines;
  }

  /** The incomplete last line, if any, once the stream has ended. */
  end(): string[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest.length > 0 ? [rest.toString('utf8')] : [];
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
