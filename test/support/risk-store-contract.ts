import { describe, expect, it } from 'vitest';
import { RISK_RECORD_VERSION, RiskQuery, type RiskFinding, type RiskRecord, type RiskStore } from '../../shared/risk.js';

/**
 * One contract for the risks of every store (embedded SQLite, Elasticsearch): the same audit
 * records give the same posture, replays change nothing, and removed containers lose their risks.
 */
export function riskStoreContract(name: string, open: () => Promise<{ risks: RiskStore; close(): Promise<void> }>): void {
  const WEB = { id: 'a'.repeat(64), name: 'web', image: 'nginx:1' };
  const DB = { id: 'b'.repeat(64), name: 'db', image: 'postgres:16' };
  const base = Date.UTC(2026, 10, 27, 10, 0, 0);
  const pids: RiskFinding = { kbId: 'pids-exhausted', severity: 'medium', message: 'no pids limit', fix: 'docker update --pids-limit 512 web' };
  const logs: RiskFinding = { kbId: 'container-log-growth', severity: 'medium', message: 'json-file without max-size', fix: '--log-opt max-size=10m' };
  const restart: RiskFinding = { kbId: 'restart-on-another-host', severity: 'low', message: 'restart policy "no"', fix: 'docker update --restart unless-stopped web' };
  const privileged: RiskFinding = { kbId: 'privileged-container', severity: 'high', message: 'privileged', fix: 'drop --privileged' };
  const liveRestore: RiskFinding = { kbId: 'restart-on-another-host', severity: 'low', message: 'live-restore is disabled', fix: 'set "live-restore": true' };

  const audit = (container: typeof WEB | null, observedAt: number, findings: RiskFinding[], host = 'h1'): RiskRecord => ({
    v: RISK_RECORD_VERSION,
    scope: 'audit',
    host,
    container,
    observedAt,
    findings,
  });
  const present = (observedAt: number, containers: string[], host = 'h1'): RiskRecord => ({ v: RISK_RECORD_VERSION, scope: 'present', host, observedAt, containers });
  const query = (q: Record<string, unknown> = {}) => RiskQuery.parse(q);
  const rows = async (risks: RiskStore, q: Record<string, unknown> = {}) =>
    (await risks.searchRisks(query({ limit: 500, ...q }))).risks.map((r) => `${r.host}/${r.container?.name ?? 'daemon'}/${r.kbId}`).sort();

  describe(`risk store contract: ${name}`, () => {
    it('keeps one risk per host, container and KB entry, most severe first, with first and last seen', async () => {
      const store = await open();
      await store.risks.applyRisks([audit(WEB, base, [pids, logs, restart]), audit(DB, base + 1, [privileged]), audit(null, base + 2, [liveRestore])]);
      await store.risks.applyRisks([audit(WEB, base + 60_000, [pids, logs, restart])]);
      const { risks } = await store.risks.searchRisks(query());
      expect(risks.map((r) => r.severity)).toEqual(['high', 'medium', 'medium', 'low', 'low']);
      const web = risks.find((r) => r.container?.name === 'web' && r.kbId === 'pids-exhausted');
      expect(web).toMatchObject({ host: 'h1', container: WEB, severity: 'medium', message: pids.message, fix: pids.fix });
      expect(web?.firstSeen).toBe(new Date(base).toISOString());
      expect(web?.lastSeen).toBe(new Date(base + 60_000).toISOString());
      expect(risks.find((r) => r.container === null)).toMatchObject({ kbId: 'restart-on-another-host', message: liveRestore.message });
      await store.close();
    });

    it('a re-audit replaces a container’s findings: fixed ones disappear, new ones appear, a replay changes nothing', async () => {
      const store = await open();
      const first = [audit(WEB, base, [pids, logs])];
      await store.risks.applyRisks(first);
      await store.risks.applyRisks([audit(WEB, base + 1000, [logs, restart])]);
      expect(await rows(store.risks)).toEqual(['h1/web/container-log-growth', 'h1/web/restart-on-another-host']);
      // The finding comes back when the problem returns, first seen anew.
      await store.risks.applyRisks([audit(WEB, base + 2000, [pids, logs])]);
      const back = (await store.risks.searchRisks(query({ kbId: 'pids-exhausted' }))).risks;
      expect(back.map((r) => r.firstSeen)).toEqual([new Date(base + 2000).toISOString()]);
      const before = await store.risks.searchRisks(query());
      await store.risks.applyRisks([audit(WEB, base + 2000, [pids, logs])]);
      expect(await store.risks.searchRisks(query())).toEqual(before);
      await store.close();
    });

    it('a removed container loses its risks; the list of present containers clears those removed unseen', async () => {
      const store = await open();
      const OLD = { id: 'c'.repeat(64), name: 'old', image: 'busybox' };
      await store.risks.applyRisks([audit(WEB, base, [pids]), audit(DB, base, [privileged]), audit(OLD, base, [logs]), audit(null, base, [liveRestore]), audit(OLD, base, [logs], 'h2')]);
      await store.risks.applyRisks([audit(DB, base + 1000, [])]);
      expect(await rows(store.risks)).toEqual(['h1/daemon/restart-on-another-host', 'h1/old/container-log-growth', 'h1/web/pids-exhausted', 'h2/old/container-log-growth']);
      // OLD is gone from h1; WEB was re-audited after the listing was taken and is kept.
      await store.risks.applyRisks([audit(WEB, base + 3000, [pids]), present(base + 2000, [DB.id])]);
      expect(await rows(store.risks)).toEqual(['h1/daemon/restart-on-another-host', 'h1/web/pids-exhausted', 'h2/old/container-log-growth']);
      await store.close();
    });

    it('filters by host, container (name, id prefix, daemon), KB entry and severity, with a cursor over pages', async () => {
      const store = await open();
      await store.risks.applyRisks([audit(WEB, base, [pids, logs, restart]), audit(DB, base, [privileged, logs]), audit(null, base, [liveRestore]), audit(WEB, base, [pids], 'h2')]);
      expect(await rows(store.risks, { host: 'h2' })).toEqual(['h2/web/pids-exhausted']);
      expect(await rows(store.risks, { container: 'db' })).toEqual(['h1/db/container-log-growth', 'h1/db/privileged-container']);
      expect(await rows(store.risks, { container: 'b'.repeat(12) })).toEqual(['h1/db/container-log-growth', 'h1/db/privileged-container']);
      expect(await rows(store.risks, { container: 'daemon' })).toEqual(['h1/daemon/restart-on-another-host']);
      expect(await rows(store.risks, { kbId: 'container-log-growth' })).toEqual(['h1/db/container-log-growth', 'h1/web/container-log-growth']);
      expect(await rows(store.risks, { severity: 'low', host: 'h1' })).toEqual(['h1/daemon/restart-on-another-host', 'h1/web/restart-on-another-host']);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.risks.searchRisks(query({ limit: 2, ...(cursor ? { cursor } : {}) }));
        expect(page.risks.length).toBeLessThanOrEqual(2);
        seen.push(...page.risks.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual((await store.risks.searchRisks(query({ limit: 500 }))).risks.map((r) => r.id));
      expect(new Set(seen).size).toBe(7);
      await store.close();
    });

    it('counts by KB entry, host, severity and container, and summarizes the most exposed containers', async () => {
      const store = await open();
      await store.risks.applyRisks([audit(WEB, base, [pids, logs, restart]), audit(DB, base, [privileged]), audit(null, base, [liveRestore]), audit(WEB, base, [pids], 'h2')]);
      const facets = await store.risks.riskFacets(query({ host: 'h1' }));
      expect(facets.total).toBe(5);
      expect(facets.kbId).toEqual([
        { value: 'restart-on-another-host', count: 2 },
        { value: 'container-log-growth', count: 1 },
        { value: 'pids-exhausted', count: 1 },
        { value: 'privileged-container', count: 1 },
      ]);
      expect(facets.severity).toEqual([
        { value: 'low', count: 2 },
        { value: 'medium', count: 2 },
        { value: 'high', count: 1 },
      ]);
      expect(facets.container).toEqual([
        { value: 'web', count: 3 },
        { value: 'db', count: 1 },
      ]);
      expect(facets.host).toEqual([{ value: 'h1', count: 5 }]);
      const summary = await store.risks.riskSummary();
      expect(summary.total).toBe(6);
      expect(summary.bySeverity).toEqual({ info: 0, low: 2, medium: 3, high: 1, critical: 0 });
      expect(summary.byKb[0]).toEqual({ kbId: 'pids-exhausted', total: 2, bySeverity: { info: 0, low: 0, medium: 2, high: 0, critical: 0 } });
      // One high outweighs two mediums and a low; the daemon is not a container.
      expect(summary.worstContainers.map((c) => `${c.host}/${c.container.name}/${c.total}`)).toEqual(['h1/db/1', 'h1/web/3', 'h2/web/1']);
      expect(summary.worstContainers[1]?.container).toEqual(WEB);
      await store.close();
    });
  });
}
