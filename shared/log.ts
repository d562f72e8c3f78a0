import { pino, destination, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr, so stdout stays free for command output (classify, audit). */
export function createLogger(name: string, level: string = 'info'): Logger {
  return pino({ name, level, base: { service: name } }, destination(2));
}
