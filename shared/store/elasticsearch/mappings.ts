import { createHash } from 'node:crypto';
import type { estypes } from '@elastic/elasticsearch';
import type { ContainerFacts } from '../../event.js';
import type { Evidence, Incident, IncidentContext, IncidentStatus, LifecycleMark } from '../../incident.js';
import type { Severity } from '../../kb/schema.js';
import type { EvidenceKey, SearchedEvidence } from '../incident-rules.js';
import type { ResolveMark } from '../index.js';
import type { StoreContext } from './requests.js';

/*
 * The documents of the Elasticsearch store, their mappings and index names (P = indexPrefix):
 * - `P-incidents-YYYY.MM`: one document per incident, in the month of its first evidence (fixed
 *   when the incident is created). Every month joins the read alias `P-incidents` through the index
 *   template, so search and get(id) see all months.
 * - `P-evidence-YYYY.MM`: one document per (fingerprint, event id), in the month of the event;
 *   its id is a hash of both, so a replayed event overwrites itself instead of adding a duplicate.
 *   Read alias `P-evidence`.
 * - `P-heads`: one small document per fingerprint naming its latest incident and that incident's
 *   index, read with realtime GETs: the write path never depends on a refresh.
 * - `P-silences`: one document per silence; `P-risks`: the audit's findings (see risks.ts).
 * Documents are ECS where a field exists, the rest under `fineprint.*`; mappings are strict.
 */

/** Bumped when the index templates change incompatibly. */
export const SCHEMA_VERSION = 1;

/** An occurrence as its incident document keeps it. */
interface OccurrenceSpan {
  /** Occurrence id. */
  id: string;
  /** First and last evidence time of the occurrence in this incident (ms). */
  first: number;
  last: number;
  /** Pieces of evidence filed in it (absent on documents written before evidence was counted). */
  evidence?: number;
}

/** A piece of evidence the incident is searchable by, with the occurrence it belongs to (a retraction removes them). */
export type SearchedEvidenceEntry = SearchedEvidence & { occurrenceId: string };

/** An incident document (`P-incidents-*`). */
export interface IncidentSource {
  '@timestamp': string;
  message: string;
  event: { kind: 'alert'; module: 'fineprint'; dataset: 'fineprint.incident'; start: string; end: string; severity: number };
  host: { name: string };
  container?: { id: string; name: string; image: { name: string } };
  rule: { id: string; name: string };
  fineprint: {
    schema: number;
    incident_id: string;
    fingerprint: string;
    status: IncidentStatus;
    severity: Severity;
    count: number;
    /** Pieces of evidence filed: the sum over its occurrences. */
    evidence_count?: number;
    /** The pieces whose evidence documents are kept, oldest first (keepEvidence); the rest are counted only. */
    kept_evidence?: EvidenceKey[];
    compose?: { project?: string; service?: string };
    facts?: ContainerFacts;
    /** The container's last words and what changed (IncidentContext). */
    context?: IncidentContext;
    acknowledged?: LifecycleMark;
    resolved?: ResolveMark;
    /** When it was acknowledged, for the stats (absent while not acknowledged). */
    acknowledged_at?: string;
    /** When it was resolved, for the re-open window (absent while unresolved). */
    resolved_at?: string;
    /** Times a recurrence re-opened it. */
    reopened?: number;
    /** The incident it is a consequence of (Incident.causedBy); absent when none. */
    caused_by?: string;
    /** Last change of anything on the incident (absent on documents written before lifecycles). */
    updated_at?: string;
    occurrences: OccurrenceSpan[];
    /** Its newest evidence, whose messages are searchable (absent on documents written before). */
    searched_evidence?: SearchedEvidenceEntry[];
    /** What happened, as a sentence (incidentSummary); absent on documents written before, which show their message. */
    summary?: string;
    /** Folded words of the incident's search text (incidentSearchText): what `q` matches, as prefixes. */
    search_terms: string[];
  };
}

/** An evidence document (`P-evidence-*`). */
export interface EvidenceSource {
  '@timestamp': string;
  message: string;
  event: { id: string; kind: 'event'; provider: string; action?: string };
  process?: { exit_code: number };
  fineprint: { fingerprint: string; incident_id: string; occurrence_id: string; detector: string; kind: string; evidence: Evidence };
}

/** A head document (`P-heads`): the fingerprint's current incident. */
export interface HeadSource {
  fingerprint: string;
  incident_id: string;
  /** The concrete index of that incident. */
  index: string;
}

const keyword = { type: 'keyword' } as const;
const date = { type: 'date' } as const;
const opaque = { type: 'object', enabled: false } as const;

/** A strict mapping of a document with an ECS `@timestamp` and `message`, and these fields. */
function documentMappings(properties: Record<string, estypes.MappingProperty>): estypes.MappingTypeMapping {
  return { dynamic: 'strict', _meta: { fineprint_schema: SCHEMA_VERSION }, properties: { '@timestamp': date, message: { type: 'text' }, ...properties } };
}

function incidentMappings(): estypes.MappingTypeMapping {
  return documentMappings({
    event: {
      properties: { kind: keyword, module: keyword, dataset: keyword, start: date, end: date, severity: { type: 'short' } },
    },
    host: { properties: { name: keyword } },
    container: { properties: { id: keyword, name: keyword, image: { properties: { name: keyword } } } },
    rule: { properties: { id: keyword, name: { type: 'keyword', fields: { text: { type: 'text' } } } } },
    fineprint: {
      properties: {
        schema: { type: 'short' },
        incident_id: keyword,
        fingerprint: keyword,
        status: keyword,
        severity: keyword,
        count: { type: 'integer' },
        evidence_count: { type: 'integer' },
        kept_evidence: opaque,
        compose: { properties: { project: keyword, service: keyword } },
        facts: opaque,
        context: opaque,
        acknowledged: opaque,
        resolved: opaque,
        resolved_at: date,
        acknowledged_at: date,
        reopened: { type: 'integer' },
        caused_by: keyword,
        updated_at: date,
        occurrences: opaque,
        searched_evidence: opaque,
        summary: { type: 'text', index: false },
        search_terms: { type: 'keyword', ignore_above: 256 },
      },
    },
  });
}

function evidenceMappings(): estypes.MappingTypeMapping {
  return documentMappings({
    event: { properties: { id: keyword, kind: keyword, provider: keyword, action: keyword } },
    process: { properties: { exit_code: { type: 'long' } } },
    fineprint: {
      properties: {
        fingerprint: keyword,
        incident_id: keyword,
        occurrence_id: keyword,
        detector: keyword,
        kind: keyword,
        evidence: opaque,
      },
    },
  });
}

function headMappings(): estypes.MappingTypeMapping {
  return { dynamic: 'strict', properties: { fingerprint: keyword, incident_id: keyword, index: { type: 'keyword', index: false } } };
}

/** Settings of every index: explicit refresh (an unsearched index otherwise stops refreshing after 30 s). */
const INDEX_SETTINGS: estypes.IndicesIndexSettings = {
  number_of_shards: 1,
  // One replica where there is a second node to hold it; none on a single node (stays green).
  auto_expand_replicas: '0-1',
  refresh_interval: '1s',
};

function month(ts: number): string {
  const d = new Date(ts);
  return `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Index and alias names of a store's prefix. */
export function storeNames(prefix: string) {
  return {
    incidentsAlias: `${prefix}-incidents`,
    evidenceAlias: `${prefix}-evidence`,
    heads: `${prefix}-heads`,
    silences: `${prefix}-silences`,
    risks: `${prefix}-risks`,
    incidentIndex: (ts: number) => `${prefix}-incidents-${month(ts)}`,
    evidenceIndex: (ts: number) => `${prefix}-evidence-${month(ts)}`,
  };
}
export type StoreNames = ReturnType<typeof storeNames>;

/** Installs the index templates, the heads and silences indices (idempotent). */
export async function installIndices({ client, names: n, timeout }: StoreContext): Promise<void> {
  const template = (alias: string, mappings: estypes.MappingTypeMapping) => ({
    name: alias,
    index_patterns: [`${alias}-*`],
    // Above the built-in templates (priority 100 and lower) so nothing else shapes these indices.
    priority: 500,
    _meta: { description: 'fineprint incident store', fineprint_schema: SCHEMA_VERSION },
    template: { settings: INDEX_SETTINGS, mappings, aliases: { [alias]: {} } },
  });
  const createIndex = async (index: string, mappings: estypes.MappingTypeMapping): Promise<void> => {
    try {
      await client.indices.create({ index, settings: INDEX_SETTINGS, mappings }, timeout);
    } catch (error) {
      const type = (error as { meta?: { body?: { error?: { type?: string } } } }).meta?.body?.error?.type;
      if (type !== 'resource_already_exists_exception') throw error;
    }
  };
  await client.indices.putIndexTemplate(template(n.incidentsAlias, incidentMappings()), timeout);
  await client.indices.putIndexTemplate(template(n.evidenceAlias, evidenceMappings()), timeout);
  await createIndex(n.heads, headMappings());
  await createIndex(n.silences, { dynamic: 'strict', properties: { body: opaque } });
  // Months created before a field was added get it too (adding a field is compatible).
  await client.indices.putMapping(
    { index: n.incidentsAlias, ignore_unavailable: true, allow_no_indices: true, properties: incidentMappings().properties ?? {} },
    timeout,
  );
}

/** Stable, index-safe document id. */
export function docId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url');
}

export function toIncident(doc: IncidentSource): Incident {
  const f = doc.fineprint;
  return {
    id: f.incident_id,
    fingerprint: f.fingerprint,
    kbId: doc.rule.id,
    title: doc.rule.name,
    severity: f.severity,
    status: f.status,
    host: doc.host.name,
    container: doc.container ? { id: doc.container.id, name: doc.container.name, image: doc.container.image.name } : null,
    compose: f.compose?.project && f.compose.service ? { project: f.compose.project, service: f.compose.service } : null,
    count: f.count,
    evidenceCount: f.evidence_count ?? 0,
    firstSeen: doc.event.start,
    lastSeen: doc.event.end,
    message: doc.message,
    summary: f.summary ?? doc.message,
    acknowledged: f.acknowledged ?? null,
    resolved: f.resolved ?? null,
    reopened: f.reopened ?? 0,
    updatedAt: f.updated_at ?? doc.event.end,
    causedBy: f.caused_by ?? null,
  };
}
