// The catalogue of issue 3: every point of the talk is covered, every entry says what holds today and
// how it is served, every positive fixture files exactly its own entry (precision across entries),
// and the lines recorded on a real dockerd (test/fixtures/real) file exactly the entry of their scenario.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileKb, createClassifier, FactsCache, parseLine } from '../../services/classifier/index.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import type { Fixture, LineFormat } from '../../shared/kb/schema.js';
import { TALK_POINTS } from '../../shared/kb/talk.js';
import { createLogger } from '../../shared/log.js';
import { MetricsRegistry, pipelineMetrics } from '../../shared/metrics.js';
import { fixtureFacts, fromFixtureContainer } from '../support/fixture-container.js';

const kb = loadKnowledgeBase();
const compiled = compileKb(kb);

/**
 * KB ids whose incidents remain after the fixture's lines went through the production parser,
 * detectors and correlation: signals filed, minus occurrences retracted into a superseding entry.
 */
function incidentsAfter(lines: readonly { line: string; format: LineFormat }[], fixture?: Fixture): string[] {
  const classifier = createClassifier({
    kb: compiled,
    facts: new FactsCache(),
    metrics: pipelineMetrics(new MetricsRegistry()),
    log: createLogger('test', 'silent'),
  });
  const filed = new Map<string, string>();
  const retracted = new Set<string>();
  if (fixture) classifier.classify(fixtureFacts(fixture));
  lines.forEach(({ line, format }, index) => {
    const parsed = parseLine(line, format, { host: 'fixture', lineNumber: index + 1 });
    if (!parsed) return;
    const event = fixture ? fromFixtureContainer(fixture, parsed) : parsed;
    for (const update of classifier.updatesFor(event)) {
      if (update.op === 'signal') filed.set(update.fingerprint, update.kbId);
      else if (update.op === 'retract') retracted.add(update.fingerprint);
    }
  });
  return [...new Set([...filed].filter(([fingerprint]) => !retracted.has(fingerprint)).map(([, kbId]) => kbId))].sort();
}

const linesOf = (fixture: Fixture) => fixture.lines.map((line) => ({ line, format: fixture.format }));

describe('the catalogue covers the whole talk', () => {
  it('ships at least 40 entries', () => {
    expect(kb.entries.length).toBeGreaterThanOrEqual(40);
  });

  for (const point of TALK_POINTS) {
    it(`${point.section}: ${point.point.slice(0, 70)} -> an entry`, () => {
      const covering = kb.entries.filter((e) => (e.covers ?? []).includes(point.id)).map((e) => e.id);
      expect(covering.length, `talk point "${point.id}" is covered by no entry`).toBeGreaterThan(0);
    });
  }

  it('names every talk point once, with a unique id', () => {
    expect(new Set(TALK_POINTS.map((p) => p.id)).size).toBe(TALK_POINTS.length);
  });
});

describe('every shipped entry says how it is served and what holds today', () => {
  for (const entry of kb.entries) {
    it(entry.id, () => {
      expect(entry.detection, 'detection: runtime | audit | both').toBeDefined();
      expect(entry.covers, 'covers: talk point ids (empty for beyond the talk)').toBeDefined();
      expect(entry.today, 'today: { holds, changed }').toBeDefined();
      if ((entry.covers ?? []).length === 0) expect(entry.talk).toMatch(/beyond the talk/i);
      if (entry.detection !== 'runtime') expect(entry.audit?.length ?? 0).toBeGreaterThan(0);
      if (entry.detection === 'audit') expect(entry.detectors).toEqual([]);
      else expect(entry.detectors.length).toBeGreaterThan(0);
      for (const change of entry.today?.changed ?? []) expect(change.reference).toMatch(/^https:\/\//);
    });
  }
});

describe('precision across entries: a positive fixture files its own entry and nothing else', () => {
  for (const entry of kb.entries) {
    entry.fixtures.positive.forEach((fixture, index) => {
      it(`${entry.id} positive #${index + 1}`, () => {
        expect(incidentsAfter(linesOf(fixture), fixture)).toEqual([entry.id]);
      });
    });
  }
});

/** A recorded scenario of test/fixtures/real: its Docker events, kernel records and container output. */
function recording(file: string): { line: string; format: LineFormat }[] {
  const text = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'real', file), 'utf8');
  const block = (name: string) => (new RegExp('```' + name + '\\n([\\s\\S]*?)```').exec(text)?.[1] ?? '').split('\n').filter(Boolean);
  return [
    ...block('events').map((line) => ({ line, format: 'docker-event' as const })),
    ...block('kmsg').map((line) => ({ line, format: 'kmsg' as const })),
    ...block('stdout').map((line) => ({ line, format: 'docker-log' as const })),
    ...block('stderr').map((line) => ({ line, format: 'docker-log' as const })),
  ];
}

describe('lines recorded on a real dockerd file exactly the entry of their scenario, nothing more', () => {
  const expected: Record<string, string[]> = {
    'oom.md': ['oom-kill'],
    'pids.md': ['pids-exhausted'],
    'restart.md': ['crash-loop'],
    'stop_ignored.md': ['sigterm-ignored'],
    'tmpfs_full.md': ['disk-full'],
    'unhealthy.md': ['unhealthy'],
    // A zombie is visible only through /proc (the host probe), not in events, kernel lines or logs.
    'zombie.md': [],
  };
  const recorded = readdirSync(join(import.meta.dirname, '..', 'fixtures', 'real')).filter((f) => f.endsWith('.md') && f !== 'README.md');

  it('knows every recorded scenario', () => {
    expect(recorded.sort()).toEqual(Object.keys(expected).sort());
  });

  for (const [file, ids] of Object.entries(expected)) {
    it(`${file} -> [${ids.join(', ')}]`, () => {
      const lines = recording(file);
      expect(lines.length).toBeGreaterThan(0);
      expect(incidentsAfter(lines)).toEqual(ids);
    });
  }
});
