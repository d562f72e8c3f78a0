import { describe, expect, it } from 'vitest';
import { RECORD_VERSION, type ContainerFacts } from '../../shared/event.js';
import type { Evidence, IncidentUpdate } from '../../shared/incident.js';
import { IncidentQuery, type IncidentStore } from '../../shared/store/index.js';
import { riskStoreContract } from './risk-store-contract.js';

/**
 * One contract for every incident store (embedded SQLite, Elasticsearch): the same updates give
 * the same searchable incidents, and replays change nothing.
 */
export function incidentStoreContract(name: string, open: () => Promise<IncidentStore>): void {
  const CID = 'a'.repeat(64);
  const BID = 'b'.repeat(64);
  const base = Date.UTC(2026, 10, 27, 10, 0, 0);

  type SignalUpdate = Extract<IncidentUpdate, { op: 'signal' }>;
  const signal = (over: Partial<Omit<SignalUpdate, 'evidence'>> & { evidence: Partial<Evidence> & { eventId: string } }): IncidentUpdate => ({
    op: 'signal',
    proposedId: over.proposedId ?? `p-${over.fingerprint ?? 'oom'}-${over.evidence.occurrenceId ?? over.evidence.eventId}`,
    fingerprint: over.fingerprint ?? 'oom-kill|h1|ctr:hog',
    kbId: over.kbId ?? 'oom-kill',
    title: over.title ?? 'Container killed by the kernel OOM killer',
    severity: over.severity ?? 'critical',
    host: over.host ?? 'h1',
    container: over.container === undefined ? { id: CID, name: 'hog', image: 'busybox' } : over.container,
    compose: over.compose ?? null,
    facts: null,
    ...(over.context ? { context: over.context } : {}),
    evidence: {
      occurrenceId: over.evidence.eventId,
      detector: 'oom-kill/docker-oom',
      ts: base,
      kind: 'docker',
      source: 'docker-events',
      message: 'container oom',
      ...over.evidence,
    },
  });
  const query = (q: Record<string, unknown>) => IncidentQuery.parse(q);

  describe(`incident store contract: ${name}`, () => {
    it('files one incident per fingerprint; an occurrence counts once however many signals it has', async () => {
      const store = await open();
      await store.apply([
        signal({ evidence: { eventId: 'e1', message: 'container oom hog' } }),
        signal({ evidence: { eventId: 'k1', occurrenceId: 'e1', kind: 'kernel', ts: base + 5, message: 'Memory cgroup out of memory: Killed process 42 (sh)' } }),
        signal({ evidence: { eventId: 'd1', occurrenceId: 'e1', ts: base + 10, message: 'container die (exitCode=137)' } }),
      ]);
      const page = await store.search(query({ kb: 'oom-kill' }));
      expect(page.incidents).toHaveLength(1);
      const [incident] = page.incidents;
      expect(incident).toMatchObject({ kbId: 'oom-kill', host: 'h1', status: 'open', count: 1, container: { id: CID, name: 'hog', image: 'busybox' } });
      expect(incident?.firstSeen).toBe(new Date(base).toISOString());
      expect(incident?.lastSeen).toBe(new Date(base + 10).toISOString());
      const detail = await store.get(incident?.id ?? '');
      expect(detail?.evidence.map((e) => e.eventId).sort()).toEqual(['d1', 'e1', 'k1']);
      await store.close();
    });

    it('keeps the newest facts of its container, whatever order the writes come in', async () => {
      const store = await open();
      const factsAt = (observedAt: number, oomKilled: boolean): ContainerFacts => ({
        v: RECORD_VERSION, host: 'h1', id: CID, name: 'hog', image: 'busybox', observedAt,
        limits: { memory: 32 * 1024 * 1024, memorySwap: 32 * 1024 * 1024, pids: 0, oomKillDisable: false, nanoCpus: 0 },
        restartPolicy: { name: 'no', maximumRetryCount: 0 },
        state: { status: oomKilled ? 'exited' : 'running', exitCode: oomKilled ? 137 : 0, oomKilled, restartCount: 0, startedAt: '', finishedAt: '' },
        env: [], command: [], labels: {}, user: '', init: false, hostname: 'hog', networkMode: 'none', privileged: false, logDriver: 'json-file', logOptions: {},
      });
      const withFacts = (update: IncidentUpdate, facts: ContainerFacts): IncidentUpdate => ({ ...update, facts }) as IncidentUpdate;
      await store.apply([withFacts(signal({ evidence: { eventId: 'o1' } }), factsAt(base + 20, true))]);
      // A held signal, filed later, with facts read while the container still ran.
      await store.apply([withFacts(signal({ evidence: { eventId: 'd1', occurrenceId: 'o1', ts: base + 10 } }), factsAt(base + 5, false))]);
      const [incident] = (await store.search(query({ kb: 'oom-kill' }))).incidents;
      expect((await store.get(incident?.id ?? ''))?.facts?.state.oomKilled).toBe(true);
      await store.close();
    });

    it('keeps a summary sentence built from all its evidence, in any order of writes, and searchable', async () => {
      const store = await open();
      const die = (n: number, ts: number): IncidentUpdate =>
        signal({
          fingerprint: 'crash-loop|h1|ctr:hog',
          kbId: 'crash-loop',
          title: 'Crash loop',
          evidence: { eventId: `die-${n}`, occurrenceId: 'die-0', ts, action: 'die', exitCode: 1, message: `container die ${CID} (exitCode=1, name=hog)` },
        });
      // The latest first, then the others in a later batch, then all replayed.
      await store.apply([die(2, base + 4700)]);
      await store.apply([die(0, base), die(1, base + 2000)]);
      await store.apply([die(0, base), die(1, base + 2000), die(2, base + 4700)]);
      const [incident] = (await store.search(query({ kb: 'crash-loop' }))).incidents;
      expect(incident?.summary).toBe('hog exited 3 times in 4.7 s with code 1');
      expect(incident?.message).toBe(`container die ${CID} (exitCode=1, name=hog)`);
      expect((await store.get(incident?.id ?? ''))?.summary).toBe(incident?.summary);
      expect((await store.search(query({ q: 'exited times' }))).incidents.map((i) => i.id)).toEqual([incident?.id]);
      await store.close();
    });

    it('replaying the same updates changes nothing; a new occurrence increments the count', async () => {
      const store = await open();
      const first = [signal({ evidence: { eventId: 'e1' } }), signal({ evidence: { eventId: 'd1', occurrenceId: 'e1', ts: base + 10 } })];
      await store.apply(first);
      await store.apply(first);
      await store.apply([signal({ proposedId: 'other-id', evidence: { eventId: 'e2', ts: base + 600_000 } })]);
      await store.apply([signal({ proposedId: 'other-id', evidence: { eventId: 'e2', ts: base + 600_000 } })]);
      const { incidents } = await store.search(query({}));
      expect(incidents).toHaveLength(1);
      expect(incidents[0]?.count).toBe(2);
      await store.close();
    });

    it('keeps the first and last 20 pieces of a flood of evidence and counts every piece once, replays included', async () => {
      const store = await open();
      const line = (n: number) => signal({ evidence: { eventId: `l${n}`, occurrenceId: 'l0', ts: base + n * 1000, kind: 'log', source: 'container-logs', message: `write failed ${n}` } });
      const flood = Array.from({ length: 70 }, (_, n) => line(n));
      await store.apply(flood.slice(0, 30));
      await store.apply(flood.slice(30));
      // Replayed in full, and in pieces that straddle the kept ends.
      await store.apply(flood);
      await store.apply(flood.slice(15, 55));
      const [incident] = (await store.search(query({}))).incidents;
      expect(incident).toMatchObject({ count: 1, evidenceCount: 70, firstSeen: new Date(base).toISOString(), lastSeen: new Date(base + 69_000).toISOString() });
      const kept = (await store.get(incident?.id ?? ''))?.evidence.map((e) => Number(e.eventId.slice(1))).sort((a, b) => a - b);
      expect(kept).toEqual([...Array.from({ length: 20 }, (_, n) => n), ...Array.from({ length: 20 }, (_, n) => 50 + n)]);
      await store.apply([line(70)]);
      const [grown] = (await store.search(query({}))).incidents;
      expect(grown?.evidenceCount).toBe(71);
      expect((await store.get(grown?.id ?? ''))?.evidence.map((e) => e.eventId)).toContain('l70');
      await store.close();
    });

    it("keeps the container's last words and what changed, each part merged in by the update that brings it", async () => {
      const store = await open();
      const changes = [{ field: 'limits.memory', before: '256 MiB', after: '32 MiB' }];
      const lastWords = { lines: [{ stream: 'stderr' as const, text: 'allocating buffers' }], truncated: false };
      await store.apply([signal({ evidence: { eventId: 'e1' }, context: { changes } })]);
      await store.apply([signal({ evidence: { eventId: `last-words:${CID}`, occurrenceId: 'e1', ts: base + 20, kind: 'log' }, context: { changes, lastWords } })]);
      await store.apply([signal({ evidence: { eventId: 'd1', occurrenceId: 'e1', ts: base + 10 } })]);
      const [incident] = (await store.search(query({ kb: 'oom-kill' }))).incidents;
      const detail = await store.get(incident?.id ?? '');
      expect(detail?.lastWords).toEqual(lastWords);
      expect(detail?.changes).toEqual(changes);
      expect(incident).not.toHaveProperty('lastWords');
      await store.close();
    });

    it('raises an incident to a more severe signal of its fingerprint (a warning, then the kill), never lowers it', async () => {
      const store = await open();
      const warning = { kbId: 'memory-pressure', title: 'Container memory close to its limit', severity: 'medium' as const };
      await store.apply([signal({ ...warning, evidence: { eventId: 'p1', kind: 'probe', source: 'memory', message: 'Container hog has used 94% of its limit' } })]);
      const [filed] = (await store.search(query({}))).incidents;
      expect(filed).toMatchObject({ kbId: 'memory-pressure', severity: 'medium', title: warning.title });
      await store.apply([signal({ evidence: { eventId: 'e1', ts: base + 120_000 } })]);
      await store.apply([signal({ ...warning, evidence: { eventId: 'p2', occurrenceId: 'e1', ts: base + 121_000, kind: 'probe', source: 'memory' } })]);
      const { incidents } = await store.search(query({}));
      expect(incidents.map((i) => [i.id, i.kbId, i.severity, i.title])).toEqual([[filed?.id, 'oom-kill', 'critical', 'Container killed by the kernel OOM killer']]);
      expect((await store.search(query({ kb: 'oom-kill', severity: 'critical' }))).incidents).toHaveLength(1);
      await store.close();
    });

    it('moves a retracted occurrence into the incident that explains it, deleting an emptied one', async () => {
      const store = await open();
      await store.apply([signal({ evidence: { eventId: 'e1' } })]);
      await store.apply([
        signal({ fingerprint: 'jvm-heap|h1|ctr:hog', kbId: 'jvm-heap', title: 'JVM heap', severity: 'high', evidence: { eventId: 'k1', detector: 'jvm-heap/killed-java' } }),
        { op: 'retract', fingerprint: 'oom-kill|h1|ctr:hog', occurrenceId: 'e1', intoFingerprint: 'jvm-heap|h1|ctr:hog', intoOccurrenceId: 'k1' },
      ]);
      const { incidents } = await store.search(query({}));
      expect(incidents.map((i) => [i.kbId, i.count, i.evidenceCount])).toEqual([['jvm-heap', 1, 2]]);
      const detail = await store.get(incidents[0]?.id ?? '');
      expect(detail?.evidence.map((e) => e.eventId).sort()).toEqual(['e1', 'k1']);
      await store.close();
    });

    it('links a consequence under its cause: causedBy on one, consequences on the other; replays and unknown causes change nothing', async () => {
      const store = await open();
      const crash = (eventId: string, ts: number) =>
        signal({ fingerprint: 'crash-loop|h1|ctr:hog', kbId: 'crash-loop', title: 'Crash loop', severity: 'high', evidence: { eventId, occurrenceId: 'c1', ts, action: 'die', exitCode: 137 } });
      const link: IncidentUpdate = { op: 'link', fingerprint: 'crash-loop|h1|ctr:hog', causeFingerprint: 'oom-kill|h1|ctr:hog' };
      await store.apply([signal({ evidence: { eventId: 'e1' } }), crash('c1', base + 1000), link]);
      // A replay, and a link to a fingerprint without an incident, leave the link as it is.
      expect(await store.apply([crash('c1', base + 1000), link, { ...link, causeFingerprint: 'disk-full|h1|ctr:hog' }])).toEqual([]);
      const byKb = new Map((await store.search(query({}))).incidents.map((i) => [i.kbId, i]));
      const [cause, consequence] = [byKb.get('oom-kill'), byKb.get('crash-loop')];
      expect(cause?.causedBy).toBeNull();
      expect(consequence?.causedBy).toBe(cause?.id);
      const causeDetail = await store.get(cause?.id ?? '');
      expect(causeDetail?.consequences).toEqual([{ id: consequence?.id, kbId: 'crash-loop', title: 'Crash loop' }]);
      expect(causeDetail?.cause).toBeNull();
      const consequenceDetail = await store.get(consequence?.id ?? '');
      expect(consequenceDetail?.cause).toEqual({ id: cause?.id, kbId: 'oom-kill', title: 'Container killed by the kernel OOM killer' });
      expect(consequenceDetail?.consequences).toEqual([]);
      await store.close();
    });

    it('counts the incidents first seen in a range by KB entry, image and host, with mean times to acknowledge and resolve and the repeat offenders', async () => {
      const store = await open();
      const db = { id: BID, name: 'db', image: 'postgres:16' };
      await store.apply([
        signal({ evidence: { eventId: 'o1' } }),
        signal({ evidence: { eventId: 'o2', ts: base + 600_000 } }),
        signal({ fingerprint: 'crash-loop|h1|ctr:hog', kbId: 'crash-loop', title: 'Crash loop', evidence: { eventId: 'c1', ts: base + 2000 } }),
        signal({ fingerprint: 'disk-full|h2|ctr:db', kbId: 'disk-full', title: 'Disk full', host: 'h2', container: db, evidence: { eventId: 'f1', ts: base + 1000 } }),
        signal({ fingerprint: 'hung-task|h2|host', kbId: 'hung-task', title: 'Hung task', host: 'h2', container: null, evidence: { eventId: 'h1', ts: base + 3000 } }),
        // First seen a month before the range: not counted.
        signal({ fingerprint: 'oom-kill|h1|ctr:old', container: { id: CID, name: 'old', image: 'busybox' }, evidence: { eventId: 'x1', ts: base - 30 * 86_400_000 } }),
      ]);
      const id = async (kb: string, container: string) => (await store.search(query({ kb, container }))).incidents[0]?.id ?? '';
      const at = (ms: number) => new Date(base + ms).toISOString();
      const hog = await id('oom-kill', 'hog');
      await store.acknowledge(hog, { by: 'admin', at: at(60_000) });
      await store.resolve(hog, { by: 'admin', at: at(700_000), auto: false });
      await store.resolve(await id('disk-full', 'db'), { by: 'fineprint', at: at(120_000), auto: true });
      const stats = await store.stats({ from: base - 3_600_000, to: base + 3_600_000 });
      expect(stats).toEqual({
        from: new Date(base - 3_600_000).toISOString(),
        to: new Date(base + 3_600_000).toISOString(),
        total: 4,
        kb: ['crash-loop', 'disk-full', 'hung-task', 'oom-kill'].map((value) => ({ value, count: 1 })),
        image: [{ value: 'busybox', count: 2 }, { value: 'postgres:16', count: 1 }],
        host: [{ value: 'h1', count: 2 }, { value: 'h2', count: 2 }],
        timeToAcknowledge: { meanMs: 60_000, incidents: 1 },
        // (700 s + 119 s) / 2
        timeToResolve: { meanMs: 409_500, incidents: 2 },
        offenders: [
          { container: 'hog', image: 'busybox', incidents: 2, occurrences: 3 },
          { container: 'db', image: 'postgres:16', incidents: 1, occurrences: 1 },
        ],
      });
      // Without a range: the 7 days up to now.
      const recent = await store.stats({});
      expect(Date.parse(recent.to) - Date.parse(recent.from)).toBe(7 * 86_400_000);
      expect(Math.abs(Date.parse(recent.to) - Date.now())).toBeLessThan(60_000);
      await store.close();
    });

    it('searches full text and filters, newest first, with a cursor over pages', async () => {
      const store = await open();
      const updates: IncidentUpdate[] = [];
      for (let i = 0; i < 7; i += 1) {
        updates.push(
          signal({
            fingerprint: `disk-full|h${i % 2}|ctr:writer-${i}`,
            kbId: 'disk-full',
            title: 'Disk full',
            severity: 'high',
            host: `h${i % 2}`,
            container: { id: `${i}`.repeat(64), name: `writer-${i}`, image: i === 3 ? 'registry.example/zebrafish:16' : 'busybox' },
            evidence: { eventId: `w${i}`, ts: base + i * 1000, kind: 'log', message: `dd: error writing '/data/x${i}': No space left on device` },
          }),
        );
      }
      updates.push(signal({ container: { id: BID, name: 'other', image: 'busybox' }, fingerprint: 'oom-kill|h1|ctr:other', evidence: { eventId: 'o1', ts: base + 50_000 } }));
      await store.apply(updates);

      expect((await store.search(query({ q: 'space left' }))).incidents).toHaveLength(7);
      expect((await store.search(query({ q: 'zebrafish' }))).incidents.map((i) => i.container?.name)).toEqual(['writer-3']);
      expect((await store.search(query({ kb: 'disk-full', host: 'h1' }))).incidents).toHaveLength(3);
      expect((await store.search(query({ container: 'writer-5' }))).incidents).toHaveLength(1);
      expect((await store.search(query({ container: BID.slice(0, 12) }))).incidents.map((i) => i.kbId)).toEqual(['oom-kill']);
      expect((await store.search(query({ severity: 'critical' }))).incidents).toHaveLength(1);
      expect((await store.search(query({ since: new Date(base + 4000).toISOString() }))).incidents).toHaveLength(4);
      expect((await store.search(query({ until: String(base + 1000) }))).incidents).toHaveLength(2);
      expect((await store.search(query({ q: '"); DROP TABLE incidents; --' }))).incidents).toHaveLength(0);

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.search(query({ limit: 3, ...(cursor ? { cursor } : {}) }));
        expect(page.incidents.length).toBeLessThanOrEqual(3);
        seen.push(...page.incidents.map((i) => i.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toHaveLength(8);
      expect(new Set(seen).size).toBe(8);
      const all = (await store.search(query({ limit: 500 }))).incidents;
      expect(all.map((i) => i.id)).toEqual(seen);
      expect(all.map((i) => Date.parse(i.lastSeen))).toEqual([...all.map((i) => Date.parse(i.lastSeen))].sort((a, b) => b - a));
      await store.close();
    });

    it('filters by several severities at once, and by a severity or worse', async () => {
      const store = await open();
      const severities = ['info', 'low', 'medium', 'high', 'critical'] as const;
      await store.apply(
        severities.map((severity, i) =>
          signal({ fingerprint: `k${i}|h1|ctr:hog`, kbId: `k${i}`, severity, evidence: { eventId: `e${i}`, ts: base + i * 1000 } }),
        ),
      );
      const found = async (q: Record<string, unknown>) => (await store.search(query(q))).incidents.map((i) => i.severity).sort();
      expect(await found({ severity: 'critical,high' })).toEqual(['critical', 'high']);
      expect(await found({ severity: 'low, info' })).toEqual(['info', 'low']);
      expect(await found({ minSeverity: 'medium' })).toEqual(['critical', 'high', 'medium']);
      expect(await found({ minSeverity: 'high', severity: 'low,high' })).toEqual(['high']);
      expect(await found({ minSeverity: 'critical', severity: 'low' })).toEqual([]);
      expect((await store.facets(query({ minSeverity: 'high' }))).severity).toEqual([
        { value: 'critical', count: 1 },
        { value: 'high', count: 1 },
      ]);
      expect(() => query({ severity: 'critical,urgent' })).toThrow();
      await store.close();
    });

    it("searches the messages of an incident's newest evidence, not only its latest message", async () => {
      const store = await open();
      await store.apply([
        signal({ evidence: { eventId: 'e1', message: 'container oom hog' } }),
        signal({ evidence: { eventId: 'k1', occurrenceId: 'e1', kind: 'kernel', ts: base + 5, message: 'Memory cgroup out of memory: Killed process 42 (tail) total-vm:4096kB' } }),
        signal({ evidence: { eventId: 'd1', occurrenceId: 'e1', ts: base + 10, message: 'container die (exitCode=137)' } }),
        signal({ fingerprint: 'disk-full|h1|ctr:hog', kbId: 'disk-full', title: 'Disk full', severity: 'high', evidence: { eventId: 'w1', message: 'No space left on device' } }),
        signal({ evidence: { eventId: 'o2', ts: base + 50, message: 'second occurrence zanzibar' } }),
      ]);
      const kbIds = async (q: string) => (await store.search(query({ q }))).incidents.map((i) => i.kbId);
      expect(await kbIds('tail')).toEqual(['oom-kill']);
      expect(await kbIds('killed tail')).toEqual(['oom-kill']);
      expect((await store.facets(query({ q: 'tail' }))).total).toBe(1);

      // Bounded: only the newest 20 pieces of evidence count; an older one's words drop out.
      const many = Array.from({ length: 25 }, (_, i) => signal({ evidence: { eventId: `m${i}`, occurrenceId: 'e1', ts: base + 100 + i, message: `line marker${String.fromCharCode(97 + i)}` } }));
      await store.apply(many);
      expect(await kbIds('markery')).toEqual(['oom-kill']);
      expect(await kbIds('markera')).toEqual([]);
      expect(await kbIds('tail')).toEqual([]);
      expect(await kbIds('zanzibar')).toEqual([]);

      // A retracted occurrence's evidence is searched with the incident it moved into.
      await store.apply([
        signal({ fingerprint: 'jvm-heap|h1|ctr:hog', kbId: 'jvm-heap', title: 'JVM heap', severity: 'high', evidence: { eventId: 'j1', ts: base + 200, message: 'java.lang.OutOfMemoryError' } }),
        { op: 'retract', fingerprint: 'oom-kill|h1|ctr:hog', occurrenceId: 'e1', intoFingerprint: 'jvm-heap|h1|ctr:hog', intoOccurrenceId: 'j1' },
      ]);
      expect(await kbIds('markerh')).toEqual(['jvm-heap']);
      // The incident it left is searched by its own newest evidence again.
      expect(await kbIds('zanzibar')).toEqual(['oom-kill']);
      await store.close();
    });

    it('searches bounded terms: repeats count once, one-letter words are left out, more than 16 words is refused; container text is literal', async () => {
      const store = await open();
      await store.apply([
        signal({ fingerprint: 'disk-full|h1|ctr:writer', kbId: 'disk-full', title: 'Disk full', container: { id: CID, name: 'writer', image: 'busybox' }, evidence: { eventId: 'w1', message: 'No space left on device' } }),
        signal({ fingerprint: 'oom-kill|h1|ctr:hog', container: { id: BID, name: 'hog', image: 'busybox' }, evidence: { eventId: 'o1', ts: base + 1000 } }),
      ]);
      const kbIds = async (q: Record<string, unknown>) => (await store.search(query(q))).incidents.map((i) => i.kbId);
      expect(await kbIds({ q: 'space space SPACE a b c d e f g h i j k l m n o p q r s t u v w x y z' })).toEqual(['disk-full']);
      expect(await kbIds({ q: Array.from({ length: 250 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'[i % 26]).join(' ') })).toEqual(['oom-kill', 'disk-full']);
      const seventeen = Array.from({ length: 17 }, (_, i) => `word${i}`).join(' ');
      await expect(store.search(query({ q: seventeen }))).rejects.toMatchObject({ code: 'FP_QUERY_TOO_COMPLEX', status: 400 });
      await expect(store.facets(query({ q: seventeen }))).rejects.toMatchObject({ code: 'FP_QUERY_TOO_COMPLEX', status: 400 });
      expect(await kbIds({ q: Array.from({ length: 16 }, () => 'space device').join(' ') })).toEqual(['disk-full']);
      // SQL LIKE wildcards in a container id prefix are characters, not patterns.
      expect(await kbIds({ container: '____________' })).toEqual([]);
      expect(await kbIds({ container: '%%%%%%%%%%%%' })).toEqual([]);
      expect(await kbIds({ container: BID.slice(0, 12) })).toEqual(['oom-kill']);
      await store.close();
    });

    it('reports recently active occurrences so a restarted classifier keeps correlating', async () => {
      const store = await open();
      await store.apply([signal({ evidence: { eventId: 'e1', ts: base } }), signal({ evidence: { eventId: 'd1', occurrenceId: 'e1', ts: base + 20 } })]);
      const active = await store.activeOccurrences(base - 1);
      expect(active).toEqual([{ fingerprint: 'oom-kill|h1|ctr:hog', incidentId: expect.any(String), occurrenceId: 'e1', lastTs: base + 20 }]);
      expect(await store.activeOccurrences(base + 21)).toEqual([]);
      await store.close();
    });

    it('returns the incidents an apply changed, and none for a replay', async () => {
      const store = await open();
      const updates = [signal({ evidence: { eventId: 'e1' } }), signal({ evidence: { eventId: 'd1', occurrenceId: 'e1', ts: base + 10 } })];
      const changed = await store.apply(updates);
      expect(changed.map((i) => [i.kbId, i.count, i.status])).toEqual([['oom-kill', 1, 'open']]);
      expect(await store.apply(updates)).toEqual([]);
      const updatedAt = changed[0]?.updatedAt ?? '';
      expect((await store.search(query({ updatedSince: updatedAt }))).incidents.map((i) => i.id)).toEqual([changed[0]?.id]);
      expect((await store.search(query({ updatedSince: String(Date.parse(updatedAt) + 60_000) }))).incidents).toEqual([]);
      await store.close();
    });

    it('acknowledges and resolves with who, when and why; a recurrence re-opens within the window, else files a new incident', async () => {
      const store = await open();
      const [filed] = await store.apply([signal({ evidence: { eventId: 'e1' } })]);
      const id = filed?.id ?? '';
      const ackAt = new Date(base + 1000).toISOString();
      expect(await store.acknowledge(id, { by: 'alice', at: ackAt, comment: 'looking' })).toMatchObject({
        status: 'acknowledged',
        acknowledged: { by: 'alice', at: ackAt, comment: 'looking' },
      });
      expect(await store.acknowledge('no-such-incident', { by: 'alice', at: ackAt })).toBeUndefined();
      const resolvedAt = new Date(base + 2000).toISOString();
      expect(await store.resolve(id, { by: 'bob', at: resolvedAt, auto: false })).toMatchObject({ status: 'resolved', resolved: { by: 'bob', at: resolvedAt, auto: false } });
      // Acknowledging a resolved incident changes nothing.
      expect((await store.acknowledge(id, { by: 'carol', at: resolvedAt }))?.status).toBe('resolved');
      expect((await store.search(query({ status: 'resolved' }))).incidents.map((i) => i.id)).toEqual([id]);

      // More evidence of the same occurrence does not re-open it.
      await store.apply([signal({ evidence: { eventId: 'd1', occurrenceId: 'e1', ts: base + 3000 } })]);
      expect((await store.get(id))?.status).toBe('resolved');
      // A new occurrence 10 minutes later re-opens it.
      const [reopened] = await store.apply([signal({ evidence: { eventId: 'e2', ts: base + 600_000 } })]);
      expect(reopened).toMatchObject({ id, status: 'open', reopened: 1, count: 2, acknowledged: null, resolved: null });

      // Resolved again; a recurrence two hours later is a new incident.
      await store.resolve(id, { by: 'bob', at: new Date(base + 700_000).toISOString(), auto: false });
      const [fresh] = await store.apply([signal({ evidence: { eventId: 'e3', ts: base + 700_000 + 2 * 3_600_000 } })]);
      expect(fresh?.id).not.toBe(id);
      expect(fresh).toMatchObject({ status: 'open', count: 1, reopened: 0 });
      expect((await store.get(id))?.status).toBe('resolved');
      expect((await store.search(query({}))).incidents).toHaveLength(2);
      await store.close();
    });

    it('auto-resolves incidents quiet for longer than their entry allows', async () => {
      const store = await open();
      await store.apply([
        signal({ evidence: { eventId: 'e1', ts: base } }),
        signal({ fingerprint: 'disk-full|h1|ctr:w', kbId: 'disk-full', title: 'Disk full', severity: 'high', evidence: { eventId: 'w1', ts: base } }),
      ]);
      const quiet = (kbId: string) => (kbId === 'oom-kill' ? 60_000 : 3_600_000);
      const resolved = await store.resolveQuiet(base + 120_000, quiet);
      expect(resolved.map((i) => [i.kbId, i.status, i.resolved?.auto, i.resolved?.by])).toEqual([['oom-kill', 'resolved', true, 'fineprint']]);
      expect(await store.resolveQuiet(base + 120_000, quiet)).toEqual([]);
      expect((await store.search(query({ status: 'open' }))).incidents.map((i) => i.kbId)).toEqual(['disk-full']);
      await store.close();
    });

    it('keeps silences', async () => {
      const store = await open();
      const silence = {
        id: 's1',
        matchers: { kb: 'oom-*', container: 'hog' },
        startsAt: new Date(base).toISOString(),
        endsAt: new Date(base + 3_600_000).toISOString(),
        createdBy: 'alice',
        createdAt: new Date(base).toISOString(),
        comment: 'load test',
      };
      await store.putSilence(silence);
      expect(await store.silences()).toEqual([silence]);
      expect(await store.deleteSilence('s1')).toBe(true);
      expect(await store.deleteSilence('s1')).toBe(false);
      expect(await store.silences()).toEqual([]);
      await store.close();
    });

    it('expires incidents resolved longer ago than the retention, with their evidence, and silences ended as long ago; nothing else', async () => {
      const store = await open();
      const day = 86_400_000;
      const retentionMs = 90 * day;
      const now = base + 100 * day;
      const at = (ts: number) => new Date(ts).toISOString();
      const [old] = await store.apply([signal({ evidence: { eventId: 'o1', message: 'container oom hog' } })]);
      const [recent] = await store.apply([signal({ fingerprint: 'disk-full|h1|ctr:w', kbId: 'disk-full', title: 'Disk full', severity: 'high', evidence: { eventId: 'w1', message: 'No space left on device' } })]);
      const [unresolved] = await store.apply([signal({ fingerprint: 'conntrack-full|h1|host', kbId: 'conntrack-full', title: 'conntrack full', severity: 'medium', container: null, evidence: { eventId: 'c1', kind: 'kernel', message: 'nf_conntrack: table full' } })]);
      await store.resolve(old?.id ?? '', { by: 'bob', at: at(base + 1000), auto: false });
      await store.resolve(recent?.id ?? '', { by: 'bob', at: at(now - day), auto: false });
      const silence = (id: string, endsAt: number) => ({ id, matchers: { kb: 'oom-*' }, startsAt: at(base), endsAt: at(endsAt), createdBy: 'alice', createdAt: at(base), comment: id });
      await store.putSilence(silence('ended', base + 3_600_000));
      await store.putSilence(silence('current', now + day));

      expect(await store.expire(now, retentionMs)).toEqual({ incidents: 1, silences: 1 });
      const kept = [recent?.id, unresolved?.id].sort();
      expect((await store.search(query({}))).incidents.map((i) => i.id).sort()).toEqual(kept);
      expect((await store.search(query({ q: 'oom hog' }))).incidents).toEqual([]);
      expect(await store.get(old?.id ?? '')).toBeUndefined();
      expect((await store.get(recent?.id ?? ''))?.evidence.map((e) => e.eventId)).toEqual(['w1']);
      const facets = await store.facets(query({}));
      expect(facets.total).toBe(2);
      expect(facets.kb.map((f) => f.value).sort()).toEqual(['conntrack-full', 'disk-full']);
      expect(facets.status.map((f) => [f.value, f.count]).sort()).toEqual([['open', 1], ['resolved', 1]]);
      expect((await store.activeOccurrences(0)).map((o) => o.incidentId).sort()).toEqual(kept);
      expect((await store.silences()).map((s) => s.id)).toEqual(['current']);
      // A second sweep finds nothing; a recurrence of the expired fingerprint files a new incident.
      expect(await store.expire(now, retentionMs)).toEqual({ incidents: 0, silences: 0 });
      const [again] = await store.apply([signal({ evidence: { eventId: 'o2', ts: now } })]);
      expect(again).toMatchObject({ kbId: 'oom-kill', status: 'open', count: 1 });
      expect(again?.id).not.toBe(old?.id);
      await store.close();
    });

    it('counts what a query matches by KB entry, host, severity, status and container, with a histogram by lastSeen', async () => {
      const store = await open();
      const minute = 60_000;
      const updates: IncidentUpdate[] = [];
      // Six disk-full incidents on h0/h1, one a minute; an OOM kill on h1 at minute 30; a host-level conntrack incident at minute 59.
      for (let i = 0; i < 6; i += 1) {
        updates.push(
          signal({
            fingerprint: `disk-full|h${i % 2}|ctr:writer-${i}`,
            kbId: 'disk-full',
            title: 'Disk full',
            severity: 'high',
            host: `h${i % 2}`,
            container: { id: `${i}`.repeat(64), name: `writer-${i}`, image: 'busybox' },
            evidence: { eventId: `w${i}`, ts: base + i * minute, kind: 'log', message: 'No space left on device' },
          }),
        );
      }
      updates.push(signal({ host: 'h1', evidence: { eventId: 'o1', ts: base + 30 * minute } }));
      updates.push(
        signal({ fingerprint: 'conntrack-full|h1|host', kbId: 'conntrack-full', title: 'conntrack full', severity: 'medium', host: 'h1', container: null, evidence: { eventId: 'c1', ts: base + 59 * minute, kind: 'kernel', message: 'nf_conntrack: table full, dropping packet' } }),
      );
      const [acked] = await store.apply(updates.slice(0, 1));
      await store.apply(updates.slice(1));
      await store.acknowledge(acked?.id ?? '', { by: 'alice', at: new Date(base).toISOString() });

      const all = await store.facets(query({}));
      expect(all.total).toBe(8);
      expect(all.kb).toEqual([
        { value: 'disk-full', count: 6 },
        { value: 'conntrack-full', count: 1 },
        { value: 'oom-kill', count: 1 },
      ]);
      expect(all.host).toEqual([
        { value: 'h1', count: 5 },
        { value: 'h0', count: 3 },
      ]);
      expect(all.severity).toEqual([
        { value: 'high', count: 6 },
        { value: 'critical', count: 1 },
        { value: 'medium', count: 1 },
      ]);
      expect(all.status).toEqual([
        { value: 'open', count: 7 },
        { value: 'acknowledged', count: 1 },
      ]);
      // Host-level incidents have no container.
      expect(all.container.map((c) => c.value)).toEqual(['hog', 'writer-0', 'writer-1', 'writer-2', 'writer-3', 'writer-4', 'writer-5']);
      // No time range in the query: the buckets span the first to the last lastSeen (59 minutes, 24 buckets).
      expect(all.histogram.from).toBe(new Date(base).toISOString());
      expect(all.histogram.counts).toHaveLength(24);
      expect(all.histogram.counts.reduce((a, b) => a + b, 0)).toBe(8);
      const bucketOf = (ts: number) => Math.floor((ts - base) / all.histogram.bucketMs);
      expect(all.histogram.counts[bucketOf(base + 30 * minute)]).toBeGreaterThanOrEqual(1);
      expect(all.histogram.counts[23]).toBe(1);

      // The facets of a filtered query count only its matches, with the search's own filters.
      const filtered = await store.facets(query({ q: 'space', host: 'h0', limit: 1 }));
      expect(filtered.total).toBe(3);
      expect(filtered.kb).toEqual([{ value: 'disk-full', count: 3 }]);
      expect(filtered.container.map((c) => c.value)).toEqual(['writer-0', 'writer-2', 'writer-4']);
      expect(filtered.total).toBe((await store.search(query({ q: 'space', host: 'h0' }))).incidents.length);

      // A time range fixes the buckets: one a minute over the first 24 minutes.
      const ranged = await store.facets(query({ since: new Date(base).toISOString(), until: String(base + 24 * minute - 1) }));
      expect(ranged.histogram).toEqual({
        from: new Date(base).toISOString(),
        bucketMs: minute,
        counts: [1, 1, 1, 1, 1, 1, ...new Array<number>(18).fill(0)],
      });
      expect(ranged.total).toBe(6);

      const none = await store.facets(query({ kb: 'no-such-entry' }));
      expect(none).toEqual({ total: 0, kb: [], host: [], severity: [], status: [], container: [], histogram: { from: null, bucketMs: 1000, counts: [] } });
      await store.close();
    });
  });
  riskStoreContract(name, open);
}
