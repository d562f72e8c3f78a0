/**
 * Splits a byte stream into lines (LF; a CR before it is dropped) without ever holding more than
 * `maxLineBytes` of one line: the rest of an over-long line is counted and skipped up to its
 * newline, so hostile input costs one pass and bounded memory. An incomplete last line (and a UTF-8
 * character split across chunks) waits for the next chunk; its pieces are joined once, at its end.
 * Invalid UTF-8 decodes to U+FFFD; NUL and other bytes pass through.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  /** `onLine` gets each line and the bytes cut from its end (0 for a line within the bound). */
  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (text: string, droppedBytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    for (let start = 0; ; ) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      if (newline >= 0 && this.kept === 0 && this.dropped === 0 && end - start <= this.maxLineBytes) {
        // The common case: a whole line inside the chunk.
        // No encoding named: UTF-8, without the lookup of an encoding's name on every line.
        this.onLine(stripCr(chunk.toString(undefined, start, end)), 0);
      } else {
        const take = Math.min(this.maxLineBytes - this.kept, end - start);
        if (take > 0) {
          // Copied when the line goes on in the next chunk: the chunk itself is not retained.
          const part = chunk.subarray(start, start + take);
          this.parts.push(newline < 0 ? Buffer.from(part) : part);
          this.kept += take;
        }
        this.dropped += end - start - take;
        if (newline >= 0) this.flush();
      }
      if (newline < 0) return;
      start = newline + 1;
    }
  }

  /** Emits the last line when the stream does not end with a newline. */
  end(): void {
    if (this.kept > 0 || this.dropped > 0) this.flush();
  }

  private flush(): void {
    const bytes = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.kept);
    const dropped = this.dropped;
    this.parts = [];
    this.kept = 0;
    this.dropped = 0;
    this.onLine(stripCr(bytes.toString('utf8')), dropped);
  }
}

const stripCr = (text: string): string => (text.endsWith('\r') ? text.slice(0, -1) : text);
