// Logs for people: each pino record one line, its fields as key=value, an error's stack below it.
import { describe, expect, it } from 'vitest';
import { prettyLine } from '../../shared/log.js';

const time = Date.UTC(2026, 10, 27, 10, 0, 5);
const clock = new Date(time).toTimeString().slice(0, 8);

describe('prettyLine', () => {
  it('writes time, level, message and the fields, leaving out what every record carries', () => {
    const line = prettyLine({ level: 30, time, pid: 1, hostname: 'h', service: 'fineprint', name: 'fineprint', msg: 'Filed critical incident: OOM (hog)', incident: 'inc-1', count: 2, path: '/var/lib/x y' }, false);
    expect(line).toBe(`${clock} INFO  Filed critical incident: OOM (hog) incident=inc-1 count=2 path="/var/lib/x y"\n`);
  });

  it('puts an error\'s stack under its line, indented', () => {
    const line = prettyLine({ level: 50, time, msg: 'classifying a batch failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)' } }, false);
    expect(line).toBe(`${clock} ERROR classifying a batch failed\n    Error: boom\n        at f (x.js:1:1)\n`);
  });

  it('colours the level only when asked (a terminal without NO_COLOR)', () => {
    expect(prettyLine({ level: 40, time, msg: 'slow' }, true)).toContain('\u001b[33mWARN \u001b[0m');
    expect(prettyLine({ level: 40, time, msg: 'slow' }, false)).not.toContain('\u001b[');
  });
});
