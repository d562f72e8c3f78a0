import { describe, expect, it } from 'vitest';
import { requiredLiterals } from '../../shared/kb/literals.js';
import { parseLine } from '../../services/classifier/parse.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';

describe('requiredLiterals', () => {
  it('multiplies adjacent exact parts (optional groups, small classes, alternatives) into longer literals', () => {
    expect(requiredLiterals('Memory cgroup out of memory: Kill(?:ed)? process', false)).toEqual([
      'Memory cgroup out of memory: Kill process',
      'Memory cgroup out of memory: Killed process',
    ]);
    expect(requiredLiterals('port is already allocated|[Aa]ddress already in use', false)).toEqual([
      'port is already allocated',
      'Address already in use',
      'address already in use',
    ]);
    expect(requiredLiterals("can't fork", true)).toEqual(["can't fork"]);
    expect(requiredLiterals('CAN\\x27T|(?:Fo|fo)rk', true)).toEqual(["can't", 'fork']);
    expect(requiredLiterals('INFO: task \\S+:\\d+ blocked for more than \\d+ seconds', false)).toEqual([' blocked for more than ']);
    expect(requiredLiterals('(?:foo|bar)ba', false)).toEqual(['fooba', 'barba']);
  });
  it('looks inside groups, through lookarounds and repeats, and gives up without a useful literal', () => {
    expect(requiredLiterals('(?:exec: "(?:jcmd|jstack)": not found|(?:^|\\s)(?:jps|jstat): not found)', false)).toEqual([
      'exec: "jcmd": not found',
      'exec: "jstack": not found',
      'jps: not found',
      'jstat: not found',
    ]);
    expect(requiredLiterals('[Nn]o space left on device(?<!inotify.*)', false)).toEqual(['No space left on device', 'no space left on device']);
    expect(requiredLiterals('(?:abc)+d', false)).toEqual(['abc']);
    expect(requiredLiterals('ab|\\d+', false)).toBeUndefined();
    expect(requiredLiterals('x{0,3}yz', false)).toBeUndefined();
    expect(requiredLiterals('a\\d+b|[^x]yz', false)).toBeUndefined();
  });
  it('is sound on every shipped detector: whatever line a regex matches contains one of its literals', () => {
    const kb = loadKnowledgeBase();
    const messages = kb.entries.flatMap((entry) =>
      [...entry.fixtures.positive, ...entry.fixtures.negative].flatMap((fixture) =>
        fixture.lines.map((line, i) => parseLine(line, fixture.format, { host: 'h', lineNumber: i + 1 })?.message ?? ''),
      ),
    );
    let checked = 0;
    for (const entry of kb.entries) {
      for (const detector of entry.detectors) {
        const matches = 'match' in detector ? [detector.match] : 'window' in detector ? [detector.window.match] : detector.sequence.steps;
        for (const m of matches) {
          if (!m.message) continue;
          const ignoreCase = m.ignoreCase === true;
          const regex = new RegExp(m.message, ignoreCase ? 'i' : '');
          const literals = requiredLiterals(m.message, ignoreCase);
          for (const message of messages) {
            if (!regex.test(message) || !literals) continue;
            const haystack = ignoreCase ? message.toLowerCase() : message;
            expect(literals.some((l) => haystack.includes(l)), `${entry.id}/${detector.id} matched "${message}" without any of ${JSON.stringify(literals)}`).toBe(true);
            checked += 1;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
