import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FineprintError } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';

/** The entries the product promises; each is one `kb/<id>.yaml`. */
const SHIPPED_IDS = [
  'oom-kill',
  'jvm-heap',
  'pids-exhausted',
  'disk-full',
  'fs-error',
  'hung-task',
  'unregister-netdevice',
  'conntrack-full',
  'port-conflict',
  'hostname-dependent-state',
  'cluster-discovery',
  'jmx-rmi-nat',
  'postgres-socket',
  'upstream-unavailable',
  'zombie-reaping',
  'sigterm-ignored',
  'crash-loop',
  'unhealthy',
] as const;

describe('the shipped knowledge base', () => {
  const kb = loadKnowledgeBase();

  it('loads through the real loader with every promised entry', () => {
    for (const id of SHIPPED_IDS) expect(kb.byId.has(id), `kb/${id}.yaml`).toBe(true);
    expect(kb.entries.map((e) => e.id).sort()).toEqual([...SHIPPED_IDS].sort());
  });

  it('gives every entry a mechanism, fixes, references and both kinds of fixtures', () => {
    for (const entry of kb.entries) {
      expect(entry.fix.length, entry.id).toBeGreaterThan(0);
      expect(entry.references.length, entry.id).toBeGreaterThan(0);
      expect(entry.fixtures.positive.length, entry.id).toBeGreaterThan(0);
      expect(entry.fixtures.negative.length, entry.id).toBeGreaterThan(0);
      expect(entry.detectors.some((d) => !d.evidenceOnly), entry.id).toBe(true);
    }
  });

  it('never starts a message regex with .* (anchored on literals)', () => {
    const sources = kb.entries.flatMap((entry) =>
      entry.detectors.flatMap((d) => {
        const matches = 'match' in d ? [d.match] : 'window' in d ? [d.window.match] : d.sequence.steps;
        return matches.flatMap((m) => (m.message ? [`${entry.id}/${d.id}: ${m.message}`] : []));
      }),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source).not.toMatch(/: \^?\.\*/);
  });

  it('lets jvm-heap supersede oom-kill', () => {
    expect(kb.byId.get('jvm-heap')?.supersedes).toEqual(['oom-kill']);
  });
});

/** A valid entry as YAML; tests break one thing at a time. */
function validEntry(id: string): Record<string, unknown> {
  return {
    id,
    title: 'A test entry for the loader',
    severity: 'high',
    talk: 'beyond the talk',
    why: 'A mechanism described in enough words to pass the minimum length of the schema.',
    fix: ['Do the concrete thing.'],
    references: [{ title: 'Docker docs', url: 'https://docs.docker.com/' }],
    detectors: [{ id: 'kernel-line', match: { kind: 'kernel', message: 'something broke \\d+' } }],
    fixtures: {
      positive: [{ lines: ['something broke 42'], format: 'log', origin: 'made up for the loader test' }],
      negative: [{ lines: ['all is fine'], format: 'log', origin: 'made up for the loader test' }],
    },
  };
}

/** YAML for a plain object: JSON is valid YAML, and keeps the test free of YAML quoting rules. */
const yaml = (value: unknown): string => JSON.stringify(value, null, 2);

describe('a malformed entry fails with FP_KB_INVALID naming the file and the field', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the given files into a fresh directory and returns the loader's error. */
  function loadError(files: Record<string, string>): FineprintError {
    const dir = mkdtempSync(join(tmpdir(), 'fineprint-kb-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    try {
      loadKnowledgeBase(dir);
    } catch (error) {
      expect(error).toBeInstanceOf(FineprintError);
      return error as FineprintError;
    }
    throw new Error('the loader accepted a malformed entry');
  }

  it('accepts the valid baseline entry (so each case below fails for its own reason)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fineprint-kb-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'good-entry.yaml'), yaml(validEntry('good-entry')));
    expect(loadKnowledgeBase(dir).byId.has('good-entry')).toBe(true);
  });

  it('a severity outside info/low/medium/high/critical', () => {
    const error = loadError({ 'bad-severity.yaml': yaml({ ...validEntry('bad-severity'), severity: 'urgent' }) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('bad-severity.yaml');
    expect(error.message).toMatch(/\bseverity\b/);
  });

  it('a missing why', () => {
    const entry = validEntry('no-why');
    delete entry.why;
    const error = loadError({ 'no-why.yaml': yaml(entry) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('no-why.yaml');
    expect(error.message).toMatch(/\bwhy\b/);
  });

  it('an invalid regular expression in a detector message', () => {
    const entry = validEntry('bad-regex');
    entry.detectors = [{ id: 'broken', match: { kind: 'log', message: 'unclosed (group' } }];
    const error = loadError({ 'bad-regex.yaml': yaml(entry) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('bad-regex.yaml');
    expect(error.message).toContain('detectors.0.match.message');
    expect(error.message).toMatch(/regular expression/);
  });

  it('YAML that does not parse', () => {
    const error = loadError({ 'bad-syntax.yaml': 'id: bad-syntax\ntitle: [unclosed\n  severity: high\n' });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('bad-syntax.yaml');
    expect(error.message).toMatch(/not valid YAML/);
  });

  it('an id that differs from the file name', () => {
    const error = loadError({ 'file-name.yaml': yaml(validEntry('other-name')) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('file-name.yaml');
    expect(error.message).toMatch(/\bid\b/);
    expect(error.message).toContain('other-name');
  });

  it('two detectors with the same id', () => {
    const entry = validEntry('dup-detectors');
    entry.detectors = [
      { id: 'same', match: { kind: 'kernel', message: 'first \\d+' } },
      { id: 'same', match: { kind: 'kernel', message: 'second \\d+' } },
    ];
    const error = loadError({ 'dup-detectors.yaml': yaml(entry) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('dup-detectors.yaml');
    expect(error.message).toContain('detectors.1.id');
    expect(error.message).toMatch(/duplicate detector id "same"/);
  });

  it('names the bad file even when other files in the directory are fine', () => {
    const error = loadError({
      'a-good.yaml': yaml(validEntry('a-good')),
      'z-bad.yaml': yaml({ ...validEntry('z-bad'), severity: 'urgent' }),
    });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('z-bad.yaml');
    expect(error.message).not.toContain('a-good.yaml');
  });
});
