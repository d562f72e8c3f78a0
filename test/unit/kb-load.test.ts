import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FineprintError } from '../../shared/errors.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';

/** The entries the all-in-one issue promises (ids are stable); each is one `kb/<id>.yaml`. */
const PROMISED_IDS = [
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

  it('loads through the real loader with every promised entry, and the catalogue around them', () => {
    for (const id of PROMISED_IDS) expect(kb.byId.has(id), `kb/${id}.yaml`).toBe(true);
    expect(kb.entries.length).toBeGreaterThanOrEqual(40);
  });

  it('gives every entry a mechanism, fixes, references, and runtime entries both kinds of fixtures', () => {
    for (const entry of kb.entries) {
      expect(entry.fix.length, entry.id).toBeGreaterThan(0);
      expect(entry.references.length, entry.id).toBeGreaterThan(0);
      if (entry.detection === 'audit') continue;
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

  it('names the OOM kill as a cause of a crash loop', () => {
    expect(kb.byId.get('crash-loop')?.consequenceOf).toContain('oom-kill');
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

  it('a runtime entry without detectors (only detection: audit may have none)', () => {
    const entry = { ...validEntry('no-detectors'), detection: 'runtime', detectors: [] };
    const error = loadError({ 'no-detectors.yaml': yaml(entry) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('no-detectors.yaml');
    expect(error.message).toMatch(/\bdetectors\b.*only detection: audit may have none/);
  });

  it('an audit entry that does not say what the audit checks', () => {
    const entry = { ...validEntry('silent-audit'), detection: 'audit', detectors: [], fixtures: { positive: [], negative: [] } };
    const error = loadError({ 'silent-audit.yaml': yaml(entry) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('silent-audit.yaml');
    expect(error.message).toMatch(/\baudit\b/);
  });

  it('an audit entry with detectors (it should say detection: both)', () => {
    const entry = { ...validEntry('audit-with-detectors'), detection: 'audit', audit: ['The container runs without a memory limit.'] };
    const error = loadError({ 'audit-with-detectors.yaml': yaml(entry) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toMatch(/detectors: an audit entry has no detectors/);
  });

  it('a runtime entry without negative fixtures (precision needs benign look-alikes)', () => {
    const entry = validEntry('no-negatives');
    entry.fixtures = { positive: [{ lines: ['something broke 42'], format: 'log', origin: 'made up for the loader test' }], negative: [] };
    const error = loadError({ 'no-negatives.yaml': yaml(entry) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('fixtures.negative');
  });

  it('a covers id that is not a point of the talk, and a today change without a reference', () => {
    const entry = {
      ...validEntry('bad-today'),
      covers: ['not-a-talk-point'],
      today: { holds: 'Still holds on every current Docker release.', changed: [{ version: 'Docker 1.13', what: 'Something changed in it.' }] },
    };
    const error = loadError({ 'bad-today.yaml': yaml(entry) });
    expect(error.code).toBe('FP_KB_INVALID');
    expect(error.message).toContain('covers.0');
    expect(error.message).toContain('today.changed.0.reference');
  });

  it('accepts an audit entry with no detectors and no fixtures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fineprint-kb-'));
    dirs.push(dir);
    const entry = {
      ...validEntry('audit-only'),
      detection: 'audit',
      covers: ['user-namespaces'],
      audit: ['The container runs as root without user namespace remapping.'],
      today: { holds: 'Still off by default on every Docker release.', changed: [] },
      detectors: [],
      fixtures: { positive: [], negative: [] },
    };
    writeFileSync(join(dir, 'audit-only.yaml'), yaml(entry));
    expect(loadKnowledgeBase(dir).byId.get('audit-only')?.detection).toBe('audit');
  });

  it('a consequenceOf naming an unknown entry, a superseded one, or leading back to itself', () => {
    const unknown = loadError({ 'a-crash.yaml': yaml({ ...validEntry('a-crash'), consequenceOf: ['no-such-entry'] }) });
    expect(unknown.message).toBe('a-crash.yaml: consequenceOf.0: unknown entry "no-such-entry"');
    const superseded = loadError({
      'a-crash.yaml': yaml({ ...validEntry('a-crash'), consequenceOf: ['b-oom'] }),
      'b-oom.yaml': yaml({ ...validEntry('b-oom'), supersedes: ['a-crash'] }),
    });
    expect(superseded.message).toMatch(/^a-crash\.yaml: consequenceOf\.0: "b-oom" and "a-crash" supersede one another/);
    const cycle = loadError({
      'a-crash.yaml': yaml({ ...validEntry('a-crash'), consequenceOf: ['b-oom'] }),
      'b-oom.yaml': yaml({ ...validEntry('b-oom'), consequenceOf: ['c-disk'] }),
      'c-disk.yaml': yaml({ ...validEntry('c-disk'), consequenceOf: ['a-crash'] }),
    });
    expect(cycle.message).toBe('a-crash.yaml: consequenceOf.0: consequenceOf leads back to "a-crash" (a-crash -> b-oom -> c-disk -> a-crash)');
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
