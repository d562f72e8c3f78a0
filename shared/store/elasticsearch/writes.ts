import type { estypes } from '@elastic/elasticsearch';
import { FineprintError } from '../../errors.js';
import type { Evidence, Incident, IncidentUpdate, LifecycleMark } from '../../incident.js';
import { incidentSummary } from '../../incident-summary.js';
import { severityRank } from '../../kb/schema.js';
import { words } from '../search-terms.js';
import {
  acknowledges,
  autoResolveMark,
  escalates,
  filesIntoLatest,
  incidentSearchText,
  isQuiet,
  linkedCause,
  mergeSearchedEvidence,
  newerFacts,
  reopens,
  resolves,
  SEARCHED_EVIDENCE,
} from '../incident-rules.js';
import { capEvidence, keepEvidence, type EvidenceKey } from '../incident-rules.js';
import type { ResolveMark } from '../index.js';
import { docId, SCHEMA_VERSION, toIncident, type EvidenceSource, type HeadSource, type IncidentSource, type SearchedEvidenceEntry } from './mappings.js';
import { newestEvidence } from './reads.js';
import { iso, refresh, throwOnErrors, type StoreContext } from './requests.js';

/*
 * Writes of the Elasticsearch store. An incident's count, firstSeen and lastSeen derive from the
 * set of its occurrences (id, first and last evidence time) kept in its own document, and its
 * searchable evidence from the newest pieces kept there too: merging a signal into it is
 * idempotent and commutative, so an update that is retried after a partial failure, or replayed
 * from Kafka, changes nothing the second time. Documents change with optimistic concurrency
 * (if_seq_no/if_primary_term, re-read and re-merge on a version conflict); no scripts, no
 * update_by_query, no ingest pipelines: Elasticsearch's integ-test distribution has none of them,
 * and they are not needed.
 *
 * Write order per batch: heads of new incidents, then evidence, then incidents. A crash between
 * any two leaves a state that the replay completes: a head always names the incident that its
 * fingerprint's next signals go to, even before that incident's document exists.
 */

/** What writes need besides the client. */
export interface WriteContext extends StoreContext {
  /** Each KB entry's searchable text (kbSearchTexts). */
  kbText: Map<string, string>;
  reopenWindowMs: number;
  /** Pieces of evidence kept at each end of an incident (keepEvidence). */
  evidenceKept: number;
}

/** Version conflicts are retried this often before the store gives up (another writer keeps winning). */
const MAX_CONFLICT_RETRIES = 8;
/** An occurrence has a handful of evidence (an oom event, its kernel lines, a die); moves read at most this many. */
const MAX_MOVED_EVIDENCE = 10_000;

interface Versioned<T> {
  source: T;
  seqNo: number;
  primaryTerm: number;
}

type StoredHead = Versioned<HeadSource> & { id: string };

interface CurrentIncident {
  incidentId: string;
  index: string;
  /** The head document as read (absent for an incident this batch creates). */
  head?: StoredHead;
  /** The incident document as read (absent until its first write). */
  doc?: Versioned<IncidentSource>;
}

/** Changes one incident; gets undefined when the incident does not exist yet. Must be idempotent. */
type Mutation = (doc: IncidentSource | undefined) => IncidentSource | undefined;

interface IncidentWrite {
  id: string;
  index: string;
  mutations: Mutation[];
  /** When the incident ends up with no occurrence, delete it and then this head (if still unchanged). */
  head?: StoredHead;
  /** Evidence this batch wrote for it: a piece that the incident does not keep has its document deleted. */
  pieces?: EvidenceKey[];
}

type SignalUpdate = Extract<IncidentUpdate, { op: 'signal' }>;
type RetractUpdate = Extract<IncidentUpdate, { op: 'retract' }>;
type LinkUpdate = Extract<IncidentUpdate, { op: 'link' }>;

/** Lifecycle changes, as mutations: each leaves a document in another state as it is. */
export const acknowledgeMutation =
  (mark: LifecycleMark): Mutation =>
  (doc) => {
    if (doc && acknowledges(doc.fineprint.status)) {
      doc.fineprint.status = 'acknowledged';
      doc.fineprint.acknowledged = mark;
    }
    return doc;
  };

export const resolveMutation =
  (mark: ResolveMark): Mutation =>
  (doc) => {
    if (doc && resolves(doc.fineprint.status)) {
      doc.fineprint.status = 'resolved';
      doc.fineprint.resolved = mark;
      doc.fineprint.resolved_at = mark.at;
    }
    return doc;
  };

function lastSeenOf(doc: IncidentSource): number {
  return doc.fineprint.occurrences.reduce((max, o) => Math.max(max, o.last), Number.NEGATIVE_INFINITY);
}

/** Adds evidence times from `first` to `last` and `evidence` pieces to occurrence `id`. */
function mergeOccurrence(doc: IncidentSource, id: string, first: number, last: number, evidence: number): void {
  const span = doc.fineprint.occurrences.find((o) => o.id === id);
  if (span) {
    span.first = Math.min(span.first, first);
    span.last = Math.max(span.last, last);
    span.evidence = (span.evidence ?? 0) + evidence;
  } else {
    doc.fineprint.occurrences.push({ id, first, last, evidence });
  }
}

function evidenceKey({ ts, eventId, occurrenceId }: Evidence): EvidenceKey {
  return { ts, eventId, occurrenceId };
}

function searchedEntry(evidence: Evidence): SearchedEvidenceEntry {
  const { ts, eventId, occurrenceId, message, action, exitCode } = evidence;
  return { ts, eventId, occurrenceId, message, ...(action !== undefined ? { action } : {}), ...(exitCode !== undefined ? { exitCode } : {}) };
}

/** Applies a batch of updates in order; adds the indices written to `touched` and the incidents changed to `changed`. */
export async function applyUpdates(ctx: WriteContext, updates: IncidentUpdate[], touched: Set<string>, changed: Map<string, Incident>): Promise<void> {
  let signals: SignalUpdate[] = [];
  for (const update of updates) {
    if (update.op === 'signal') {
      signals.push(update);
      continue;
    }
    await applySignals(ctx, signals, touched, changed);
    signals = [];
    if (update.op === 'link') {
      await applyLink(ctx, update, touched, changed);
      continue;
    }
    // The move reads evidence by search: what this batch wrote must be visible first.
    await refresh(ctx, touched);
    await applyRetract(ctx, update, touched, changed);
  }
  await applySignals(ctx, signals, touched, changed);
}

/** Applies a lifecycle mutation to one incident; its current state when the mutation changes nothing. */
export async function mutateOne(ctx: WriteContext, id: string, mutation: Mutation): Promise<Incident | undefined> {
  const found = await ctx.client.search<IncidentSource>(
    { index: ctx.names.incidentsAlias, ignore_unavailable: true, allow_no_indices: true, size: 1, _source: false, query: { ids: { values: [id] } } },
    ctx.timeout,
  );
  const index = found.hits.hits[0]?._index;
  if (!index) return undefined;
  const touched = new Set<string>();
  const changed = new Map<string, Incident>();
  await writeIncidents(ctx, [{ id, index, mutations: [mutation] }], touched, changed);
  await refresh(ctx, touched);
  const written = changed.get(id);
  if (written) return written;
  const stored = (await readIncidents(ctx, [{ index, id }])).get(id);
  return stored ? toIncident(stored.source) : undefined;
}

/** Resolves (auto) the unresolved incidents quiet for longer than their entry allows. */
export async function resolveQuietIncidents(ctx: WriteContext, now: number, quietMs: (kbId: string) => number): Promise<Incident[]> {
  const mark = autoResolveMark(now);
  // Unresolved incidents are few (resolved ones are the history): each is checked against its entry's period.
  const res = await ctx.client.search<IncidentSource>(
    {
      index: ctx.names.incidentsAlias,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 10_000,
      _source: ['rule.id', 'event.end', 'fineprint.incident_id'],
      query: { bool: { must_not: [{ term: { 'fineprint.status': 'resolved' } }] } },
    },
    ctx.timeout,
  );
  const writes: IncidentWrite[] = res.hits.hits.flatMap((hit) => {
    const doc = hit._source;
    if (!doc || !isQuiet(Date.parse(doc.event.end), now, quietMs(doc.rule.id))) return [];
    return [{ id: doc.fineprint.incident_id, index: hit._index, mutations: [resolveMutation(mark)] }];
  });
  const touched = new Set<string>();
  const changed = new Map<string, Incident>();
  await writeIncidents(ctx, writes, touched, changed);
  await refresh(ctx, touched);
  return [...changed.values()];
}

/** Realtime reads of the heads of these fingerprints. */
async function readHeads({ client, names, timeout }: StoreContext, fingerprints: string[]): Promise<Map<string, StoredHead>> {
  const heads = new Map<string, StoredHead>();
  if (fingerprints.length === 0) return heads;
  const res = await client.mget<HeadSource>({ index: names.heads, ids: fingerprints.map((fp) => docId(fp)), realtime: true }, timeout);
  for (const doc of res.docs) {
    if ('found' in doc && doc.found && doc._source && doc._seq_no !== undefined && doc._primary_term !== undefined) {
      heads.set(doc._source.fingerprint, { id: doc._id, source: doc._source, seqNo: doc._seq_no, primaryTerm: doc._primary_term });
    }
  }
  return heads;
}

/** Realtime reads of incidents by (index, id); a missing index counts as a missing document. */
async function readIncidents({ client, timeout }: StoreContext, refs: { index: string; id: string }[]): Promise<Map<string, Versioned<IncidentSource>>> {
  const found = new Map<string, Versioned<IncidentSource>>();
  if (refs.length === 0) return found;
  const res = await client.mget<IncidentSource>({ docs: refs.map((r) => ({ _index: r.index, _id: r.id })), realtime: true }, timeout);
  for (const doc of res.docs) {
    if ('found' in doc && doc.found && doc._source && doc._seq_no !== undefined && doc._primary_term !== undefined) {
      found.set(doc._id, { source: doc._source, seqNo: doc._seq_no, primaryTerm: doc._primary_term });
    }
  }
  return found;
}

/**
 * The current incident of each fingerprint: the head's, if the fingerprint's earliest signal
 * (`firstTs`; none for a retraction) files into it (filesIntoLatest). A head whose incident
 * document does not exist yet still counts (a crash between the two writes). Heads of incidents
 * too long resolved are returned apart: a new incident replaces them with a versioned write.
 */
async function currentIncidents(
  ctx: WriteContext,
  fingerprints: string[],
  firstTs?: Map<string, number>,
): Promise<{ current: Map<string, CurrentIncident>; resolved: Map<string, StoredHead> }> {
  const heads = await readHeads(ctx, fingerprints);
  const docs = await readIncidents(ctx, [...heads.values()].map((h) => ({ index: h.source.index, id: h.source.incident_id })));
  const current = new Map<string, CurrentIncident>();
  const resolved = new Map<string, StoredHead>();
  for (const [fp, head] of heads) {
    const doc = docs.get(head.source.incident_id);
    const f = doc?.source.fineprint;
    const latest = f && { status: f.status, resolvedAt: f.resolved_at ? Date.parse(f.resolved_at) : undefined };
    if (latest && !filesIntoLatest(latest, firstTs?.get(fp), ctx.reopenWindowMs)) resolved.set(fp, head);
    else current.set(fp, { incidentId: head.source.incident_id, index: head.source.index, head, ...(doc ? { doc } : {}) });
  }
  return { current, resolved };
}

async function applySignals(ctx: WriteContext, signals: SignalUpdate[], touched: Set<string>, changed: Map<string, Incident>): Promise<void> {
  if (signals.length === 0) return;
  const { client, names: n, timeout } = ctx;
  const firstTs = new Map<string, number>();
  for (const signal of signals) firstTs.set(signal.fingerprint, Math.min(firstTs.get(signal.fingerprint) ?? Infinity, signal.evidence.ts));
  const fingerprints = [...firstTs.keys()];
  let current = new Map<string, CurrentIncident>();
  for (let attempt = 0; ; attempt += 1) {
    const found = await currentIncidents(ctx, fingerprints, firstTs);
    current = found.current;
    // New incidents: their heads are written first, so a replay files into the same incident.
    const operations: (estypes.BulkOperationContainer | HeadSource)[] = [];
    for (const signal of signals) {
      if (current.has(signal.fingerprint)) continue;
      const incident = { incidentId: signal.proposedId, index: n.incidentIndex(signal.evidence.ts) };
      const previous = found.resolved.get(signal.fingerprint);
      const _id = docId(signal.fingerprint);
      operations.push(
        previous ? { index: { _index: n.heads, _id, if_seq_no: previous.seqNo, if_primary_term: previous.primaryTerm } } : { create: { _index: n.heads, _id } },
        { fingerprint: signal.fingerprint, incident_id: incident.incidentId, index: incident.index },
      );
      current.set(signal.fingerprint, incident);
    }
    if (operations.length === 0) break;
    const res = await client.bulk({ operations }, timeout);
    touched.add(n.heads);
    if (!res.items.some((item) => Object.values(item)[0]?.status === 409)) {
      throwOnErrors('heads', res);
      break;
    }
    // Another writer made some of these fingerprints' incidents meanwhile: start over from its heads.
    if (attempt >= MAX_CONFLICT_RETRIES) throw new FineprintError('FP_STORE_UNAVAILABLE', 'heads: still in conflict after retries');
  }

  // Evidence that exists already under another incident (an old event replayed after its
  // incident was resolved) is ignored: an event is evidence of one incident only.
  const evidenceRefs = signals.map((s) => ({ index: n.evidenceIndex(s.evidence.ts), id: docId(s.fingerprint, s.evidence.eventId) }));
  const existing = new Map<string, string>();
  const res = await client.mget<EvidenceSource>(
    { docs: evidenceRefs.map((r) => ({ _index: r.index, _id: r.id, _source: ['fineprint.incident_id'] })), realtime: true },
    timeout,
  );
  for (const doc of res.docs) {
    if ('found' in doc && doc.found && doc._source) existing.set(doc._id, doc._source.fineprint.incident_id);
  }

  const evidenceOps: (estypes.BulkOperationContainer | EvidenceSource)[] = [];
  const writes = new Map<string, IncidentWrite>();
  signals.forEach((signal, i) => {
    const incident = current.get(signal.fingerprint);
    const ref = evidenceRefs[i];
    if (!incident || !ref) return;
    const owner = existing.get(ref.id);
    if (owner !== undefined && owner !== incident.incidentId) return;
    existing.set(ref.id, incident.incidentId);
    evidenceOps.push({ index: { _index: ref.index, _id: ref.id } }, evidenceDoc(signal.fingerprint, incident.incidentId, signal.evidence));
    touched.add(ref.index);
    let write = writes.get(incident.incidentId);
    if (!write) {
      write = { id: incident.incidentId, index: incident.index, mutations: [] };
      writes.set(write.id, write);
    }
    write.mutations.push(signalMutation(signal, incident.incidentId, owner !== undefined, ctx.evidenceKept));
    (write.pieces ??= []).push(evidenceKey(signal.evidence));
  });
  if (evidenceOps.length > 0) {
    throwOnErrors('evidence', await client.bulk({ operations: evidenceOps }, timeout));
  }
  await writeIncidents(ctx, [...writes.values()], touched, changed);
}

function evidenceDoc(fingerprint: string, incidentId: string, evidence: Evidence): EvidenceSource {
  return {
    '@timestamp': iso(evidence.ts),
    message: evidence.message,
    event: { id: evidence.eventId, kind: 'event', provider: evidence.source, ...(evidence.action ? { action: evidence.action } : {}) },
    ...(evidence.exitCode !== undefined ? { process: { exit_code: evidence.exitCode } } : {}),
    fineprint: {
      fingerprint,
      incident_id: incidentId,
      occurrence_id: evidence.occurrenceId,
      detector: evidence.detector,
      kind: evidence.kind,
      evidence,
    },
  };
}

/**
 * What one signal does to its incident: files it (creating the document), keeps the latest
 * evidence's message, re-opens a resolved incident on a new occurrence, and merges the occurrence,
 * the searchable evidence and the container. `replayed`: its evidence was written before.
 */
function signalMutation(signal: SignalUpdate, incidentId: string, replayed: boolean, evidenceKept: number): Mutation {
  const { evidence } = signal;
  return (existing) => {
    const kept = keepEvidence(existing?.fineprint.kept_evidence ?? [], existing?.fineprint.evidence_count ?? 0, evidenceKey(evidence), evidenceKept);
    // Filed before (kept, or counted and dropped): nothing changes.
    if (existing && !kept.counts) return existing;
    const doc: IncidentSource = existing ?? {
      '@timestamp': iso(evidence.ts),
      message: evidence.message,
      event: { kind: 'alert', module: 'fineprint', dataset: 'fineprint.incident', start: iso(evidence.ts), end: iso(evidence.ts), severity: severityRank(signal.severity) },
      host: { name: signal.host },
      rule: { id: signal.kbId, name: signal.title },
      fineprint: {
        schema: SCHEMA_VERSION,
        incident_id: incidentId,
        fingerprint: signal.fingerprint,
        status: 'open',
        severity: signal.severity,
        count: 0,
        occurrences: [],
        search_terms: [],
      },
    };
    const lastSeen = lastSeenOf(doc);
    // The latest evidence's message; a replayed event only if it is strictly the latest.
    if (replayed ? evidence.ts > lastSeen : evidence.ts >= lastSeen) doc.message = evidence.message;
    const f = doc.fineprint;
    if (reopens(f.status, f.occurrences.some((o) => o.id === evidence.occurrenceId))) {
      f.status = 'open';
      delete f.acknowledged;
      delete f.resolved;
      delete f.resolved_at;
      f.reopened = (f.reopened ?? 0) + 1;
    }
    mergeOccurrence(doc, evidence.occurrenceId, evidence.ts, evidence.ts, 1);
    f.kept_evidence = kept.kept;
    f.searched_evidence = mergeSearchedEvidence(f.searched_evidence ?? [], [searchedEntry(evidence)]);
    if (signal.container) {
      const image = signal.container.image || doc.container?.image.name || '';
      doc.container = { id: signal.container.id, name: signal.container.name, image: { name: image } };
    }
    if (signal.compose) f.compose = { ...signal.compose };
    if (signal.facts) f.facts = newerFacts(f.facts, signal.facts) ?? undefined;
    if (signal.context) f.context = { ...f.context, ...signal.context };
    if (escalates(f.severity, signal.severity)) {
      f.severity = signal.severity;
      doc.rule = { id: signal.kbId, name: signal.title };
      doc.event.severity = severityRank(signal.severity);
    }
    return doc;
  };
}

/**
 * Derived fields, recomputed from the occurrences on every write, and the update time. Returns
 * `stored` itself when nothing but the update time would change.
 */
function finish(ctx: WriteContext, doc: IncidentSource, stored?: IncidentSource): IncidentSource {
  const spans = doc.fineprint.occurrences;
  // reduce, not Math.min(...spread): an incident may have more occurrences than call arguments fit.
  const first = spans.reduce((min, o) => Math.min(min, o.first), Number.POSITIVE_INFINITY);
  const last = lastSeenOf(doc);
  doc.fineprint.count = spans.length;
  doc.fineprint.evidence_count = spans.reduce((n, o) => n + (o.evidence ?? 0), 0);
  doc.event.start = iso(first);
  doc.event.end = iso(last);
  doc['@timestamp'] = doc.event.end;
  // A date the stats can aggregate (the lifecycle marks are stored, not indexed).
  if (doc.fineprint.acknowledged) doc.fineprint.acknowledged_at = doc.fineprint.acknowledged.at;
  else delete doc.fineprint.acknowledged_at;
  const searched = doc.fineprint.searched_evidence ?? [];
  doc.fineprint.summary = incidentSummary({
    kbId: doc.rule.id,
    title: doc.rule.name,
    subject: doc.container?.name || doc.host.name,
    facts: doc.fineprint.facts,
    evidence: searched,
  });
  const text = incidentSearchText({
    title: doc.rule.name,
    message: doc.message,
    summary: doc.fineprint.summary,
    containerName: doc.container?.name,
    containerId: doc.container?.id,
    composeService: doc.fineprint.compose?.service,
    image: doc.container?.image.name,
    kbText: ctx.kbText.get(doc.rule.id),
    evidence: searched.map((e) => e.message),
  });
  doc.fineprint.search_terms = [...new Set(words(text))];
  if (stored) {
    doc.fineprint.updated_at = stored.fineprint.updated_at;
    if (JSON.stringify(doc) === JSON.stringify(stored)) return stored;
  }
  doc.fineprint.updated_at = iso(Date.now());
  return doc;
}

/** Evidence documents of `candidates` that the incident `doc` no longer keeps. */
function unkeptEvidence(ctx: WriteContext, doc: IncidentSource, candidates: readonly EvidenceKey[]): { index: string; id: string }[] {
  const kept = new Set((doc.fineprint.kept_evidence ?? []).map((k) => k.eventId));
  return candidates.filter((k) => !kept.has(k.eventId)).map((k) => ({ index: ctx.names.evidenceIndex(k.ts), id: docId(doc.fineprint.fingerprint, k.eventId) }));
}

/**
 * Writes incidents with optimistic concurrency: each attempt applies the mutations to the
 * document as last read; a version conflict re-reads it and tries again. An incident left with
 * no occurrence is deleted, and then its head if that still names it. Evidence an incident no
 * longer keeps is deleted once the incident is written. Returns the incidents as they now are.
 */
async function writeIncidents(ctx: WriteContext, writes: IncidentWrite[], touched: Set<string>, changed: Map<string, Incident>): Promise<Map<string, IncidentSource>> {
  const { client, names, timeout } = ctx;
  let pending = writes;
  const docs = await readIncidents(ctx, pending.map((w) => ({ index: w.index, id: w.id })));
  const deleted: IncidentWrite[] = [];
  const finals = new Map<string, IncidentSource>();
  const unkept: { index: string; id: string }[] = [];
  const settle = (write: IncidentWrite, doc: IncidentSource, stored: IncidentSource | undefined) => {
    finals.set(write.id, doc);
    unkept.push(...unkeptEvidence(ctx, doc, [...(stored?.fineprint.kept_evidence ?? []), ...(write.pieces ?? [])]));
  };
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt > MAX_CONFLICT_RETRIES) {
      throw new FineprintError('FP_STORE_UNAVAILABLE', `incident ${pending[0]?.id}: still in conflict after ${MAX_CONFLICT_RETRIES} retries`);
    }
    const operations: (estypes.BulkOperationContainer | IncidentSource)[] = [];
    const opWrites: IncidentWrite[] = [];
    const written = new Map<string, IncidentSource>();
    for (const write of pending) {
      const stored = docs.get(write.id);
      let doc: IncidentSource | undefined = stored ? structuredClone(stored.source) : undefined;
      for (const mutate of write.mutations) doc = mutate(doc);
      if (doc && doc.fineprint.occurrences.length > 0) {
        const finished = finish(ctx, doc, stored?.source);
        // A replay changes nothing: no write, and the incident is not reported as changed.
        if (finished === stored?.source) {
          settle(write, finished, stored.source);
          continue;
        }
        const version = stored ? { if_seq_no: stored.seqNo, if_primary_term: stored.primaryTerm } : undefined;
        operations.push(version ? { index: { _index: write.index, _id: write.id, ...version } } : { create: { _index: write.index, _id: write.id } }, finished);
        opWrites.push(write);
        written.set(write.id, finished);
      } else if (stored) {
        operations.push({ delete: { _index: write.index, _id: write.id, if_seq_no: stored.seqNo, if_primary_term: stored.primaryTerm } });
        opWrites.push(write);
      }
      touched.add(write.index);
    }
    if (operations.length === 0) break;
    const res = await client.bulk({ operations }, timeout);
    const conflicts: IncidentWrite[] = [];
    res.items.forEach((item, i) => {
      const [action, result] = Object.entries(item)[0] ?? [];
      const write = opWrites[i];
      if (!result || !write) return;
      if (result.status === 409) conflicts.push(write);
      else if (result.error) {
        throw new FineprintError('FP_STORE_UNAVAILABLE', `incident ${write.id}: ${action} failed: ${result.error.type}: ${result.error.reason ?? ''}`);
      } else if (action === 'delete') {
        deleted.push(write);
        changed.delete(write.id);
      } else {
        const doc = written.get(write.id);
        if (doc) {
          changed.set(write.id, toIncident(doc));
          settle(write, doc, docs.get(write.id)?.source);
        }
      }
    });
    pending = conflicts;
    if (pending.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
      const fresh = await readIncidents(ctx, pending.map((w) => ({ index: w.index, id: w.id })));
      for (const write of pending) {
        const doc = fresh.get(write.id);
        if (doc) docs.set(write.id, doc);
        else docs.delete(write.id);
      }
    }
  }
  if (unkept.length > 0) {
    throwOnErrors('evidence not kept', await client.bulk({ operations: unkept.map(({ index, id }) => ({ delete: { _index: index, _id: id } })) }, timeout));
    for (const { index } of unkept) touched.add(index);
  }
  const heads = deleted.flatMap((w) => (w.head && w.head.source.incident_id === w.id ? [w.head] : []));
  if (heads.length > 0) {
    // A head changed meanwhile (409) names another incident now: it stays.
    const res = await client.bulk(
      { operations: heads.map((h) => ({ delete: { _index: names.heads, _id: h.id, if_seq_no: h.seqNo, if_primary_term: h.primaryTerm } })) },
      timeout,
    );
    touched.add(names.heads);
    for (const item of res.items) {
      const result = item.delete;
      if (result?.error && result.status !== 409 && result.status !== 404) {
        throw new FineprintError('FP_STORE_UNAVAILABLE', `head ${result._id}: delete failed: ${result.error.type}: ${result.error.reason ?? ''}`);
      }
    }
  }
  return finals;
}

/** Links the fingerprint's current incident under its cause's (linkedCause): heads and documents are read in real time. */
async function applyLink(ctx: WriteContext, update: LinkUpdate, touched: Set<string>, changed: Map<string, Incident>): Promise<void> {
  const { current } = await currentIncidents(ctx, [update.fingerprint, update.causeFingerprint]);
  const consequence = current.get(update.fingerprint);
  const causeId = current.get(update.causeFingerprint)?.incidentId;
  if (!consequence) return;
  const link: Mutation = (doc) => {
    if (!doc) return doc;
    const causedBy = linkedCause(doc.fineprint.caused_by ?? null, consequence.incidentId, causeId);
    if (causedBy !== null) doc.fineprint.caused_by = causedBy;
    return doc;
  };
  await writeIncidents(ctx, [{ id: consequence.incidentId, index: consequence.index, mutations: [link] }], touched, changed);
}

/** Moves an occurrence's evidence into the incident that explains it (a retraction). */
async function applyRetract(ctx: WriteContext, update: RetractUpdate, touched: Set<string>, changed: Map<string, Incident>): Promise<void> {
  const { client, names: n, timeout } = ctx;
  const { current } = await currentIncidents(ctx, [update.fingerprint, update.intoFingerprint]);
  const from = current.get(update.fingerprint);
  const into = current.get(update.intoFingerprint);
  // Both incidents must exist and be current.
  if (!from?.doc || !into?.doc) return;

  const found = await client.search<EvidenceSource>(
    {
      index: n.evidenceAlias,
      ignore_unavailable: true,
      size: MAX_MOVED_EVIDENCE,
      seq_no_primary_term: false,
      query: { bool: { filter: [{ term: { 'fineprint.fingerprint': update.fingerprint } }, { term: { 'fineprint.occurrence_id': update.occurrenceId } }] } },
    },
    timeout,
  );
  const moved = found.hits.hits.flatMap((hit) => (hit._source ? [{ index: hit._index, id: hit._id ?? '', evidence: hit._source.fineprint.evidence }] : []));

  // Order matters for a crash midway: the target learns the occurrence first, then the evidence
  // moves, then the source forgets it. Each step is idempotent, so a replay completes the rest.
  // The occurrence's evidence count moves with it: its dropped pieces have no document left to move.
  const span = from.doc.source.fineprint.occurrences.find((o) => o.id === update.occurrenceId);
  if (moved.length > 0 || span) {
    const first = moved.reduce((min, m) => Math.min(min, m.evidence.ts), span?.first ?? Number.POSITIVE_INFINITY);
    const last = moved.reduce((max, m) => Math.max(max, m.evidence.ts), span?.last ?? Number.NEGATIVE_INFINITY);
    const searched = moved.map((m) => ({ ...searchedEntry(m.evidence), occurrenceId: update.intoOccurrenceId }));
    const keys = moved.map((m) => ({ ...evidenceKey(m.evidence), occurrenceId: update.intoOccurrenceId }));
    const learn: Mutation = (doc) => {
      if (!doc) return doc;
      // A piece it keeps already (learnt before a crash midway, or filed twice) is counted once.
      const kept = new Set((doc.fineprint.kept_evidence ?? []).map((k) => k.eventId));
      const known = keys.filter((k) => kept.has(k.eventId)).length;
      mergeOccurrence(doc, update.intoOccurrenceId, first, last, Math.max(0, (span?.evidence ?? moved.length) - known));
      doc.fineprint.kept_evidence = capEvidence([...(doc.fineprint.kept_evidence ?? []), ...keys], ctx.evidenceKept).kept;
      doc.fineprint.searched_evidence = mergeSearchedEvidence(doc.fineprint.searched_evidence ?? [], searched);
      return doc;
    };
    const learnt = (await writeIncidents(ctx, [{ id: into.incidentId, index: into.index, mutations: [learn] }], touched, changed)).get(into.incidentId);
    const keptInto = new Set((learnt?.fineprint.kept_evidence ?? []).map((k) => k.eventId));
    const operations: (estypes.BulkOperationContainer | EvidenceSource)[] = [];
    for (const m of moved) {
      const evidence: Evidence = { ...m.evidence, occurrenceId: update.intoOccurrenceId };
      const index = n.evidenceIndex(evidence.ts);
      const id = docId(update.intoFingerprint, evidence.eventId);
      if (keptInto.has(evidence.eventId)) operations.push({ index: { _index: index, _id: id } }, evidenceDoc(update.intoFingerprint, into.incidentId, evidence));
      if (id !== m.id) operations.push({ delete: { _index: m.index, _id: m.id } });
      touched.add(index);
    }
    if (operations.length > 0) throwOnErrors('evidence move', await client.bulk({ operations }, timeout));
  }
  // A full list of searched evidence may leave out older evidence that now takes the moved one's place.
  let remaining: SearchedEvidenceEntry[] = [];
  if ((from.doc.source.fineprint.searched_evidence?.length ?? 0) >= SEARCHED_EVIDENCE) {
    await refresh(ctx, touched);
    remaining = (await newestEvidence(ctx, from.incidentId, SEARCHED_EVIDENCE)).map((f) => ({ ...searchedEntry(f.evidence), occurrenceId: f.occurrence_id }));
  }
  const forget: Mutation = (doc) => {
    if (!doc) return doc;
    doc.fineprint.occurrences = doc.fineprint.occurrences.filter((o) => o.id !== update.occurrenceId);
    if (doc.fineprint.kept_evidence) doc.fineprint.kept_evidence = doc.fineprint.kept_evidence.filter((k) => k.occurrenceId !== update.occurrenceId);
    const kept = (doc.fineprint.searched_evidence ?? []).filter((e) => e.occurrenceId !== update.occurrenceId);
    doc.fineprint.searched_evidence = mergeSearchedEvidence(kept, remaining);
    return doc;
  };
  await writeIncidents(ctx, [{ id: from.incidentId, index: from.index, ...(from.head ? { head: from.head } : {}), mutations: [forget] }], touched, changed);
}
