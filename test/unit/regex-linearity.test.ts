import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FineprintError } from '../../shared/errors.js';
import { detectorPatterns, loadKnowledgeBase } from '../../shared/kb/load.js';
import { checkLinearity, describeSuperLinear } from '../../shared/regex-linearity.js';

describe('the linearity check of detector regexes', () => {
  it.each([
    ['(a+)+$', /nested unbounded repetitions/],
    ['(\\w+\\s?)+$', /nested unbounded repetitions/],
    ['(a|a)*b', /overlapping alternatives/],
    ['\\d+\\d+x', /adjacent overlapping repetitions/],
    // A leading run is tried from each of its characters: quadratic on a long run of digits.
    ['\\d+: Cannot fork', /"1" repeated.*\(\?<!\\d\)\\d\+: x/],
    // Each occurrence of the start scans the rest of the line for the end.
    ['iptables failed: [^\\n]*No chain', /"iptables failed: .*" repeated/],
    ['EXT4-fs error \\(device [^)]+\\)', /\[\^\)\]\{1,64\}/],
    // An unbounded lookbehind scans back to the start of the line at every attempt.
    ['[Nn]o space left on device(?<!inotify.*)', /unbounded lookbehind.*inotify/],
  ])('rejects %s, saying why and how to fix it', (source, reason) => {
    const verdict = checkLinearity(source);
    expect(verdict.linear).toBe(false);
    expect(describeSuperLinear(verdict)).toMatch(reason);
  });

  it.each([
    '(?<!\\d)\\d+: Cannot fork',
    'iptables failed: (?:(?!iptables failed: )[^\\n])*No chain',
    'EXT4-fs error \\(device [^)]{1,64}\\)',
    '(?<![\\d.])(?:\\d+\\.)+\\d+ ready',
    'Container (?:[0-9a-f]{12,64} )?failed to exit within \\d+(?:s| seconds?) of signal \\d+',
  ])('accepts the linear form %s', (source) => {
    expect(checkLinearity(source).linear, describeSuperLinear(checkLinearity(source))).toBe(true);
  });

  it('accepts every detector of the shipped knowledge base', () => {
    const patterns = loadKnowledgeBase().entries.flatMap((entry) => detectorPatterns(entry).map((p) => ({ ...p, id: `${entry.id}/${p.detectorId}` })));
    expect(patterns.length).toBeGreaterThan(50);
    const superLinear = patterns.filter((p) => !checkLinearity(p.source, p.flags).linear).map((p) => p.id);
    expect(superLinear).toEqual([]);
  });
});

describe('a super-linear detector fails loading with FP_KB_INVALID', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fineprint-kb-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('naming the file, the entry, the detector and the fix', () => {
    const entry = {
      id: 'fork-trouble',
      title: 'A test entry for the loader',
      severity: 'high',
      talk: 'beyond the talk',
      why: 'A mechanism described in enough words to pass the minimum length of the schema.',
      fix: ['Do the concrete thing.'],
      references: [{ title: 'Docker docs', url: 'https://docs.docker.com/' }],
      detectors: [
        { id: 'fine', match: { kind: 'log', message: 'fork: Resource temporarily unavailable' } },
        { id: 'digit-run', match: { kind: 'log', message: '\\d+: Cannot fork' } },
      ],
      fixtures: {
        positive: [{ lines: ['sh: 12: Cannot fork'], format: 'log', origin: 'made up for the loader test' }],
        negative: [{ lines: ['all is fine'], format: 'log', origin: 'made up for the loader test' }],
      },
    };
    writeFileSync(join(dir, 'fork-trouble.yaml'), JSON.stringify(entry));
    let error: unknown;
    try {
      loadKnowledgeBase(dir);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FineprintError);
    expect((error as FineprintError).code).toBe('FP_KB_INVALID');
    const message = (error as FineprintError).message;
    expect(message).toContain('fork-trouble.yaml');
    expect(message).toContain('detectors.1.match.message');
    expect(message).toContain('detector "digit-run" of entry "fork-trouble"');
    expect(message).toMatch(/super-linear.*16 KiB/);
    expect(message).toContain('(?<!\\d)\\d+: x');
  });
});
