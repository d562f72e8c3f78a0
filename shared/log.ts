import { inspect } from 'node:util';
import { pino, destination, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** `json`: one JSON object a line, for log collectors; `pretty`: one line a record, for people; `auto`: pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

const LEVELS: Record<number, { name: string; color: number }> = {
  10: { name: 'TRACE', color: 90 },
  20: { name: 'DEBUG', color: 36 },
  30: { name: 'INFO ', color: 32 },
  40: { name: 'WARN ', color: 33 },
  50: { name: 'ERROR', color: 31 },
  60: { name: 'FATAL', color: 35 },
};

/** What every record carries and the pretty line shows elsewhere (or not at all: one process, one service). */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'name', 'err']);

const valueText = (value: unknown): string => {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
};

/** One pino record (parsed) as a line for people: time, level, message, then key=value pairs; an error's stack below. */
export function prettyLine(record: Record<string, unknown>, color: boolean): string {
  const paint = (code: number, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = LEVELS[Number(record.level)] ?? { name: String(record.level), color: 0 };
  const time = new Date(Number(record.time)).toTimeString().slice(0, 8);
  const fields = Object.entries(record)
    .filter(([key]) => !SHOWN_ELSEWHERE.has(key))
    .map(([key, value]) => `${key}=${valueText(value)}`);
  const err = record.err as { message?: string; stack?: string } | undefined;
  const stack = err ? `\n    ${(err.stack ?? err.message ?? inspect(err)).split('\n').join('\n    ')}` : '';
  const rest = fields.length > 0 ? ` ${paint(2, fields.join(' '))}` : '';
  return `${paint(2, time)} ${paint(level.color, level.name)} ${String(record.msg ?? '')}${rest}${stack}\n`;
}

/** A pino destination that writes each record as a pretty line to stderr. */
function prettyStderr(): DestinationStream {
  const color = process.stderr.isTTY && !process.env.NO_COLOR;
  return {
    write(line: string) {
      try {
        process.stderr.write(prettyLine(JSON.parse(line) as Record<string, unknown>, color));
      } catch {
        process.stderr.write(line);
      }
    },
  };
}

/**
 * Logs on stderr, so stdout stays free for command output (classify, audit): for people on a
 * terminal, JSON (for log collectors) otherwise or with format `json`.
 */
export function createLogger(name: string, level: string = 'info', format: LogFormat = 'auto'): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  return pino({ name, level, base: { service: name } }, pretty ? prettyStderr() : destination(2));
}
