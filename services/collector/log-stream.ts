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

/**
 * Splits bytes into lines without ever holding more than `maxLineBytes` of one line: the rest of an
 * over-long line is counted (`droppedBytes`) and skipped up to its newline. An incomplete last line
 * (and split UTF-8 characters) is kept for the next chunk; its pieces are joined once, at its end.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private kept = 0;
  private dropping = false;
  /** Bytes skipped so far from over-long lines. */
  droppedBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    for (let start = 0; ; ) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      if (newline >= 0 && this.kept === 0 && !this.dropping && end - start <= this.maxLineBytes) {
        // The common case: a whole line inside the chunk.
        lines.push(chunk.toString('utf8', start, end));
      } else {
        const take = Math.min(this.maxLineBytes - this.kept, end - start);
        if (take > 0) {
          // Copied when the line goes on in the next chunk: the chunk itself is not retained.
          const part = chunk.subarray(start, start + take);
          this.parts.push(newline < 0 ? Buffer.from(part) : part);
          this.kept += take;
        }
        if (end - start > take) {
          this.droppedBytes += end - start - take;
          this.dropping = true;
        }
        if (newline >= 0) lines.push(this.take());
      }
      if (newline < 0) return lines;
      start = newline + 1;
    }
  }

  /** The incomplete last line, if any, once the stream has ended. */
  end(): string[] {
    return this.kept > 0 || this.dropping ? [this.take()] : [];
  }

  private take(): string {
    const text = (this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.kept)).toString('utf8');
    this.parts = [];
    this.kept = 0;
    this.dropping = false;
    return text;
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
