import type { LastWords } from '../../shared/event.js';
import { cutText, redactText } from '../../shared/redact.js';

/** What a container's tail keeps: its last `lines` lines, at most `chars` characters in all. */
export interface TailLimits {
  lines: number;
  chars: number;
}

/** Control characters other than tab: binary output is kept as `\xNN` text, never as raw bytes. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

const escapeControl = (text: string): string => text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/**
 * The last lines one container wrote, bounded in lines and characters whatever it writes: a line
 * is cut to the budget before it is kept, and the oldest lines leave first. Lines are kept raw and
 * redacted once, when the tail is taken (a container that writes 100 MB/s costs no redaction).
 */
export class LastWordsRing {
  private lines: { stream: 'stdout' | 'stderr'; text: string; t: bigint }[] = [];
  private chars = 0;
  private dropped = false;

  constructor(private readonly limits: TailLimits) {}

  /** `t` is the line's log timestamp (ns): the engine may hand stdout and stderr lines over out of order. */
  push(stream: 'stdout' | 'stderr', message: string, t: bigint): void {
    const text = cutText(message, this.limits.chars);
    this.lines.push({ stream, text, t });
    this.chars += text.length;
    while (this.lines.length > this.limits.lines || this.chars > this.limits.chars) {
      const oldest = this.lines.shift();
      this.chars -= oldest?.text.length ?? 0;
      this.dropped = true;
    }
  }

  /** The tail, escaped and redacted, oldest line first; undefined when nothing was written. Empties the ring. */
  take(): LastWords | undefined {
    if (this.lines.length === 0) return undefined;
    this.lines.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    const tail: LastWords = {
      lines: this.lines.map(({ stream, text }) => ({ stream, text: redactText(escapeControl(text)) })),
      truncated: this.dropped,
    };
    this.lines = [];
    this.chars = 0;
    this.dropped = false;
    return tail;
  }
}
