/**
 * Reads Docker's JSON (the events stream, one object a line; an inspect; a container list) without
 * ever holding a whole document: a container's labels ride along in every event, inspect and list
 * of it, and a label can hold megabytes. Each line is compacted in one pass over its bytes, as they arrive, into a bounded
 * JSON text for JSON.parse: every string is cut to MAX_STRING_BYTES, and once the text passed
 * MEMBERS_BUDGET, further members of one object (the event's attributes, the container's labels) are
 * dropped, except those the pipeline reads. Everything else survives however large that object.
 */

/**
 * Bytes kept of one string. More than 4096 characters in any encoding (up to 6 bytes each, `\u003c`),
 * so that the facts' and attributes' cut-then-redact (4096 characters) still sees a cut value as cut.
 */
const MAX_STRING_BYTES = 6 * 4096 + 8;
/** Bytes of compacted text past which the droppable object's members (but the kept ones) are dropped. */
const MEMBERS_BUDGET = 256 * 1024;
/** The compacted line's hard bound by default: the rest of an event or inspect fits many times over. */
const MAX_LINE_BYTES = 1024 * 1024;
/** The output buffer starts this large and doubles as a line needs it, up to the policy's bound. */
const INITIAL_OUT_BYTES = 64 * 1024;

/** Which object may lose members, and which of its members never do. */
export interface CompactionPolicy {
  /** Keys from the top-level value to the droppable object: `['Actor', 'Attributes']`; `[]` stands for each element of an array. */
  droppable: readonly string[];
  /** Its members the pipeline reads. */
  kept: ReadonlySet<string>;
  /** Bytes one compacted line may take; default MAX_LINE_BYTES. */
  maxBytes?: number;
}

/** Docker events: the attributes (labels among them) may lose members, not those the classifier reads. */
export const EVENT_POLICY: CompactionPolicy = {
  droppable: ['Actor', 'Attributes'],
  kept: new Set(['name', 'image', 'exitCode', 'signal', 'execDuration']),
};

/** A container inspect: its labels may lose members, not those the facts read. */
export const INSPECT_POLICY: CompactionPolicy = {
  droppable: ['Config', 'Labels'],
  kept: new Set(['com.docker.compose.project', 'com.docker.compose.service']),
};

/**
 * A container list (`GET /containers/json`): each container's labels may lose members (the
 * collector reads ids, names, images and states from a list, labels from an inspect). Its bound
 * fits some 10,000 containers.
 */
export const LIST_POLICY: CompactionPolicy = {
  droppable: ['[]', 'Labels'],
  kept: new Set(),
  maxBytes: 64 * 1024 * 1024,
};

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

interface Container {
  object: boolean;
  /** Opened under the keys of the policy's path so far. */
  onPath: boolean;
  /** The policy's droppable object. */
  droppable: boolean;
  /** Members (or elements) written so far: a comma goes before the next one. */
  written: number;
  /** In an object, the next string is a key. */
  expectKey: boolean;
}

/** One compacted line, or why it could not be read. */
export type CompactLine = { json: string } | { error: string };

/** Splits a stream of Docker JSON into compacted lines; see the module comment. */
export class CompactJsonReader {
  private out = Buffer.allocUnsafe(INITIAL_OUT_BYTES);
  private readonly maxBytes: number;
  private readonly maxKeptKey: number;
  /** The key just read, when it may open an object of the policy's path. */
  private pathKey: string | undefined;
  private length = 0;
  private overflow = false;
  private stack: Container[] = [];
  private inString = false;
  /** Bytes left of the escape sequence in progress (after its backslash). */
  private escape = 0;
  /** The escape began with `\u`: 4 hex digits follow. */
  private escapeStart = false;
  private stringBytes = 0;
  private stringCut = false;
  private isKey = false;
  /** Where the current member (its comma included) began in `out`, to take it back when dropped. */
  private memberStart = 0;
  /** Set while a dropped member's value is read: output resumes back at this depth. */
  private skipDepth = -1;

  constructor(private readonly policy: CompactionPolicy) {
    this.maxKeptKey = Math.max(0, ...[...policy.kept].map((key) => Buffer.byteLength(key)));
    this.maxBytes = policy.maxBytes ?? MAX_LINE_BYTES;
  }

  /** Compacted lines completed by `chunk`. */
  push(chunk: Buffer): CompactLine[] {
    const lines: CompactLine[] = [];
    // Next quote, backslash and newline at or after i (chunk.length: none): each searched again only once passed.
    const next = [-1, -1, -1];
    const nextOf = (k: number, byte: number, i: number): number => {
      if ((next[k] as number) < i) {
        const found = chunk.indexOf(byte, i);
        next[k] = found < 0 ? chunk.length : found;
      }
      return next[k] as number;
    };
    for (let i = 0; i < chunk.length; ) {
      if (this.inString && this.escape === 0) {
        // A run of plain string content (megabytes for a label) is copied or skipped in one go.
        const end = Math.min(nextOf(0, QUOTE, i), nextOf(1, BACKSLASH, i), nextOf(2, NEWLINE, i));
        if (this.stringCut) i = end;
        else {
          const kept = Math.min(end - i, MAX_STRING_BYTES - this.stringBytes);
          this.writeRun(chunk, i, i + kept);
          this.stringBytes += kept;
          i += kept;
        }
        if (i === chunk.length) break;
      }
      const byte = chunk[i] as number;
      i += 1;
      // JSON escapes a newline inside a string: any newline ends the line.
      if (byte === NEWLINE) {
        const line = this.take();
        if (line) lines.push(line);
      } else if (this.inString) this.stringByte(byte);
      else this.structureByte(byte);
    }
    return lines;
  }

  /** The last line if the stream ended without a newline. */
  end(): CompactLine[] {
    const line = this.take();
    return line ? [line] : [];
  }

  /** Whether `bytes` more fit within the bound; the buffer grows to hold them. */
  private room(bytes: number): boolean {
    const needed = this.length + bytes;
    if (needed > this.maxBytes) return false;
    if (needed > this.out.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxBytes, Math.max(needed, 2 * this.out.length)));
      this.out.copy(grown, 0, 0, this.length);
      this.out = grown;
    }
    return true;
  }

  private write(byte: number): void {
    if (this.skipDepth >= 0) return;
    if (!this.room(1)) this.overflow = true;
    else this.out[this.length++] = byte;
  }

  private writeRun(chunk: Buffer, start: number, end: number): void {
    if (this.skipDepth >= 0 || start === end) return;
    if (!this.room(end - start)) this.overflow = true;
    else this.length += chunk.copy(this.out, this.length, start, end);
  }

  private stringByte(byte: number): void {
    if (this.escape > 0) {
      if (!this.stringCut) this.write(byte);
      if (this.escapeStart && byte === 0x75) this.escape = 5;
      this.escapeStart = false;
      this.escape -= 1;
      return;
    }
    if (byte === QUOTE) {
      this.inString = false;
      this.write(byte);
      if (this.isKey) this.keyEnd();
      return;
    }
    // Cut only where a character begins (not in a UTF-8 sequence or an escape): the JSON stays valid.
    if (!this.stringCut && this.stringBytes >= MAX_STRING_BYTES && (byte & 0xc0) !== 0x80) this.stringCut = true;
    if (byte === BACKSLASH) {
      this.escape = 1;
      this.escapeStart = true;
    }
    if (this.stringCut) return;
    this.write(byte);
    this.stringBytes += 1;
  }

  private structureByte(byte: number): void {
    const top = this.stack[this.stack.length - 1];
    switch (byte) {
      case 0x7b: // {
      case 0x5b: // [
        this.write(byte);
        this.openContainer(byte === 0x7b, top);
        return;
      case 0x7d: // }
      case 0x5d: // ]
        this.stack.pop();
        if (this.skipDepth > this.stack.length) this.skipDepth = -1;
        this.write(byte);
        return;
      case 0x2c: // ,
        if (!top?.object) {
          this.write(byte);
          return;
        }
        // In an object, written with the next member, which may yet be dropped.
        top.expectKey = true;
        if (this.skipDepth === this.stack.length) this.skipDepth = -1;
        return;
      case QUOTE:
        this.inString = true;
        this.stringBytes = 0;
        this.stringCut = false;
        this.isKey = top?.object === true && top.expectKey;
        if (this.isKey && top) {
          top.expectKey = false;
          this.memberStart = this.length;
          if (top.written > 0) this.write(0x2c);
          top.written += 1;
        }
        this.write(byte);
        return;
      case 0x20:
      case 0x09:
      case 0x0d:
        return;
      default:
        // `:`, numbers, true, false, null.
        this.write(byte);
    }
  }

  private openContainer(object: boolean, parent: Container | undefined): void {
    const path = this.policy.droppable;
    const depth = this.stack.length;
    // The top-level value, an element of an array on the path (`[]`), or a member under the path's next key.
    const onPath = parent === undefined || (parent.onPath && (parent.object ? this.pathKey === path[depth - 1] : path[depth - 1] === '[]'));
    this.stack.push({ object, onPath, droppable: object && onPath && depth === path.length, written: 0, expectKey: object });
    this.pathKey = undefined;
  }

  /** A key was read: past the budget, a droppable member the pipeline does not read is taken back. */
  private keyEnd(): void {
    this.isKey = false;
    const top = this.stack[this.stack.length - 1] as Container;
    const keyStart = this.memberStart + (this.out[this.memberStart] === 0x2c ? 2 : 1);
    const keyLength = this.length - 1 - keyStart;
    this.pathKey = top.onPath && !top.droppable && this.skipDepth < 0 ? this.out.toString('utf8', keyStart, this.length - 1) : undefined;
    if (this.skipDepth >= 0 || !top.droppable || this.memberStart < MEMBERS_BUDGET) return;
    if (keyLength <= this.maxKeptKey && this.policy.kept.has(this.out.toString('utf8', keyStart, this.length - 1))) return;
    this.length = this.memberStart;
    top.written -= 1;
    this.skipDepth = this.stack.length;
  }

  private take(): CompactLine | undefined {
    const empty = this.length === 0 && !this.overflow;
    const line: CompactLine = this.overflow
      ? { error: `a Docker JSON line longer than ${this.maxBytes} bytes once compacted` }
      : this.stack.length > 0 || this.inString
        ? { error: 'an incomplete Docker JSON line' }
        : { json: this.out.toString('utf8', 0, this.length) };
    this.length = 0;
    this.overflow = false;
    this.stack = [];
    this.inString = false;
    this.escape = 0;
    this.escapeStart = false;
    this.skipDepth = -1;
    return empty ? undefined : line;
  }
}
