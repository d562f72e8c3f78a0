// Risks kept apart from incidents: the embedded store drops the risk incidents of earlier versions
// on upgrade and nothing else, and an incident quotes the findings its KB entry names as foreseeable.
import { describe, expect, it } from 'vitest';
import { CHECK_KB_IDS } from '../../shared/audit/checks.js';
import type { IncidentUpdate } from '../../shared/incident.js';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { Severity } from '../../shared/kb/schema.js';
import { foreseeableRisks, RiskFinding, RiskRecord } from '../../shared/risk.js';
import { openDatabase } from '../../shared/sqlite.js';
import { IncidentQuery } from '../../shared/store/index.js';
import { SqliteIncidentStore } from '../../shared/store/sqlite.js';

const kb = loadKnowledgeBase();
const CID = 'a'.repeat(64);
const base = Date.UTC(2026, 10, 27, 10, 0, 0);

/** A signal as the classifier files it; `risk:` fingerprints are what earlier versions filed for audit findings. */
function signal(fingerprint: string, kbId: string, title: string, eventId: string, message: string): IncidentUpdate {
  return {
    op: 'signal',
    proposedId: `p-${eventId}`,
    fingerprint,
    kbId,
    title,
    severity: fingerprint.startsWith('risk:') ? 'low' : 'critical',
    host: 'h1',
    container: { id: CID, name: 'web', image: 'busybox' },
    compose: null,
    facts: null,
    evidence: { eventId, occurrenceId: eventId, detector: `${kbId}/d`, ts: base, kind: fingerprint.startsWith('risk:') ? 'audit' : 'docker', source: 'docker-events', message },
  };
}

describe('upgrade of an embedded store that holds risk incidents', () => {
  it('drops the risk incidents with their evidence and search rows; every other incident stays as it was', async () => {
    const db = openDatabase(':memory:');
    const before = new SqliteIncidentStore(db, kb);
    await before.apply([
      signal('risk:pids-exhausted|h1|ctr:web', 'pids-exhausted', 'Risk: no pids limit', 'audit:1', 'no pids limit (medium). Fix: docker update --pids-limit 512 web'),
      signal('risk:oom-kill|h1|ctr:web', 'oom-kill', 'Risk: no memory limit', 'audit:2', 'no memory limit (medium). Fix: docker update --memory 512m web'),
      signal('oom-kill|h1|ctr:web', 'oom-kill', 'Container killed by the kernel OOM killer', 'e1', 'container oom web'),
    ]);
    const kept = (await before.search(IncidentQuery.parse({}))).incidents.filter((i) => !i.fingerprint.startsWith('risk:'));
    const keptDetail = await before.get(kept[0]?.id ?? '');
    expect(kept).toHaveLength(1);

    const after = new SqliteIncidentStore(db, kb);
    expect((await after.search(IncidentQuery.parse({}))).incidents).toEqual(kept);
    expect(await after.get(kept[0]?.id ?? '')).toEqual(keptDetail);
    // The risk incidents' words are no longer searchable; the outage's still are.
    expect((await after.search(IncidentQuery.parse({ q: 'pids' }))).incidents).toEqual([]);
    expect((await after.search(IncidentQuery.parse({ q: 'oom' }))).incidents.map((i) => i.id)).toEqual([kept[0]?.id]);
    expect((await after.facets(IncidentQuery.parse({}))).total).toBe(1);
    expect(db.prepare(`SELECT COUNT(*) AS n FROM evidence`).get()).toEqual({ n: 1 });
    db.close();
  });
});

describe('the risk behind an incident', () => {
  it('every foreseenBy of the KB names an entry the audit checks', () => {
    const foreseen = kb.entries.flatMap((e) => e.foreseenBy ?? []);
    expect(foreseen.length).toBeGreaterThan(0);
    for (const id of foreseen) expect(CHECK_KB_IDS).toContain(id);
    expect(kb.byId.get('pids-exhausted')?.foreseenBy).toContain('pids-exhausted');
    expect(kb.byId.get('disk-full')?.foreseenBy).toContain('container-log-growth');
  });

  it("quotes the container's findings its entry names, in the entry's order, and nothing else", () => {
    const findings = [
      { kbId: 'oom-kill', severity: 'medium' as const, message: 'no memory limit', fix: 'docker update --memory 512m web' },
      { kbId: 'pids-exhausted', severity: 'medium' as const, message: 'no pids limit', fix: 'docker update --pids-limit 512 web' },
      { kbId: 'zombie-reaping', severity: 'low' as const, message: 'PID 1 is a shell', fix: 'run with --init' },
    ];
    expect(foreseeableRisks(kb.byId.get('pids-exhausted')?.foreseenBy, findings)).toEqual([
      { kbId: 'pids-exhausted', message: 'no pids limit', fix: 'docker update --pids-limit 512 web' },
      { kbId: 'zombie-reaping', message: 'PID 1 is a shell', fix: 'run with --init' },
    ]);
    expect(foreseeableRisks(kb.byId.get('disk-full')?.foreseenBy, findings)).toEqual([]);
    expect(foreseeableRisks(undefined, findings)).toEqual([]);
    expect(foreseeableRisks(['oom-kill'], undefined)).toEqual([]);
  });
});

describe('risk records', () => {
  it('take every severity of the KB', () => {
    expect(RiskFinding.shape.severity.options).toEqual(Severity.options);
  });

  it('refuse what the store could not keep, with the reason', () => {
    const bad = RiskRecord.safeParse({ v: 1, scope: 'audit', host: 'h1', container: { id: 'not-hex', name: 'web', image: 'x' }, observedAt: base, findings: [] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['container', 'id']);
    expect(RiskRecord.safeParse({ v: 1, scope: 'audit', host: 'h1', container: null, observedAt: base, findings: [{ kbId: 'x', severity: 'urgent', message: '', fix: '' }] }).success).toBe(false);
  });
});
