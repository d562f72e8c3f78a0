import { describe, expect, it } from 'vitest';
import { requiredLiterals } from '../../services/classifier/literals.js';
import { parseLine } from '../../services/classifier/parse.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';

describe('requiredLiterals', () => {
  it('finds the longest plain run of each top-level alternative', () => {
    expect(requiredLiterals('Memory cgroup out of memory: Kill(?:ed)? process', false)).toEqual(['Memory cgroup out of memory: Kill']);
    expect(requiredLiterals('port is already allocated|[Aa]ddress already in use', false)).toEqual(['port is already allocated', 'ddress already in use']);
    expect(requiredLiterals('nf_conntrack: (?:nf_conntrack: )?table full, dropping packet', false)).toEqual(['table full, dropping packet']);
    expect(requiredLiterals("can't fork", true)).toEqual(["can't fork"]);
    expect(requiredLiterals('INFO: task \\S+:\\d+ blocked for more than \\d+ seconds', false)).toEqual([' blocked for more than ']);
  });
  it('drops optional characters and gives up without a useful literal', () => {
    expect(requiredLiterals('colou?r matters', false)).toEqual(['r matters']);
    expect(requiredLiterals('ab|\\d+', false)).toBeUndefined();
    expect(requiredLiterals('(?:foo|bar)baz', false)).toEqual(['baz']);
    expect(requiredLiterals('(?:foo|bar)ba', false)).toBeUndefined();
    expect(requiredLiterals('x{0,3}yz', false)).toBeUndefined();
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
