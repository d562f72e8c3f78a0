import type { ContainerFacts, ContainerLastWords, NormalizedEvent } from '../../shared/event.js';
import type { ConfigChange, IncidentUpdate } from '../../shared/incident.js';
import { LAST_WORDS_EVENT_PREFIX } from '../../shared/incident-summary.js';
import { cutText } from '../../shared/redact.js';

type SignalUpdate = Extract<IncidentUpdate, { op: 'signal' }>;

/** Characters of the last line quoted in the last words' evidence message. */
const QUOTED_LINE = 300;

/**
 * Joins a dead container's last words (a record the collector sends once it read them, after the
 * `die`) to the incidents filed for that container around its death, whichever of the two the
 * classifier sees first. The last words travel as a piece of evidence of the occurrence, so a
 * replayed record changes nothing.
 */
export class LastWordsJoiner {
  /** Last words by `host/container id`, kept `withinMs` for incidents filed after them. */
  private readonly tails = new Map<string, ContainerLastWords>();
  /** The latest signal of each occurrence filed for a container, by `host/container id`, then `fingerprint|occurrence`. */
  private readonly filed = new Map<string, Map<string, SignalUpdate>>();
  /** Occurrences that have the container's last words (`fingerprint|occurrence|tail ts`). */
  private readonly joined = new Set<string>();
  private lastSweep = 0;

  constructor(private readonly withinMs: number) {}

  /** The last words arrived: they join each occurrence filed for the container around its death. */
  observe(tail: ContainerLastWords): IncidentUpdate[] {
    const key = `${tail.host}/${tail.container.id}`;
    this.tails.set(key, tail);
    const updates: IncidentUpdate[] = [];
    for (const signal of this.filed.get(key)?.values() ?? []) updates.push(...this.join(signal, tail));
    this.sweep(tail.ts);
    return updates;
  }

  /** Signals just filed: each occurrence of a container whose last words are known gets them. */
  afterSignals(updates: readonly IncidentUpdate[]): IncidentUpdate[] {
    const joined: IncidentUpdate[] = [];
    for (const update of updates) {
      // A retracted occurrence (oom-kill taken over by jvm-heap) is no incident any more: last words
      // arriving later must not file it again; the occurrence that took it over gets them.
      if (update.op === 'retract') this.forget(`${update.fingerprint}|${update.occurrenceId}`);
      if (update.op !== 'signal' || !update.container) continue;
      const key = `${update.host}/${update.container.id}`;
      const byOccurrence = this.filed.get(key) ?? new Map<string, SignalUpdate>();
      this.filed.set(key, byOccurrence);
      byOccurrence.set(`${update.fingerprint}|${update.evidence.occurrenceId}`, update);
      const tail = this.tails.get(key);
      if (tail) joined.push(...this.join(update, tail));
    }
    return joined;
  }

  private forget(occurrence: string): void {
    for (const [key, byOccurrence] of this.filed) {
      byOccurrence.delete(occurrence);
      if (byOccurrence.size === 0) this.filed.delete(key);
    }
  }

  private join(signal: SignalUpdate, tail: ContainerLastWords): IncidentUpdate[] {
    if (Math.abs(signal.evidence.ts - tail.ts) > this.withinMs) return [];
    const mark = `${signal.fingerprint}|${signal.evidence.occurrenceId}|${tail.ts}`;
    if (this.joined.has(mark)) return [];
    this.joined.add(mark);
    const last = tail.lines.at(-1);
    return [
      {
        ...signal,
        evidence: {
          eventId: `${LAST_WORDS_EVENT_PREFIX}${tail.container.id}:${tail.ts}`,
          occurrenceId: signal.evidence.occurrenceId,
          detector: signal.evidence.detector,
          ts: tail.ts,
          kind: 'log',
          source: 'container-logs',
          message: `Last words (${tail.lines.length} lines${tail.truncated ? ', more before' : ''}): ${last ? cutText(last.text, QUOTED_LINE) : ''}`,
        },
        context: { ...signal.context, lastWords: { lines: tail.lines, truncated: tail.truncated } },
      },
    ];
  }

  /** Forgets what can no longer join anything (bounded memory). */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.withinMs) return;
    this.lastSweep = now;
    const horizon = now - 2 * this.withinMs;
    for (const [key, tail] of this.tails) if (tail.ts < horizon) this.tails.delete(key);
    for (const [key, byOccurrence] of this.filed) {
      for (const [occurrence, signal] of byOccurrence) if (signal.evidence.ts < horizon) byOccurrence.delete(occurrence);
      if (byOccurrence.size === 0) this.filed.delete(key);
    }
    for (const mark of this.joined) if (Number(mark.slice(mark.lastIndexOf('|') + 1)) < horizon) this.joined.delete(mark);
  }
}

/** Where the setups of clean runs survive a classifier restart (the embedded store keeps a table of them). */
export interface BaselinePersistence {
  loadBaselines(): ContainerFacts[];
  saveBaseline(subject: string, facts: ContainerFacts): void;
}

/** Whose setups are compared: a compose service across its containers, else a container name. */
export function baselineSubject(facts: ContainerFacts): string {
  return `${facts.host}|${facts.compose ? `svc:${facts.compose.project}/${facts.compose.service}` : `ctr:${facts.name}`}`;
}

/**
 * What changed since a container's last clean run: the setup (facts) of the last start of each
 * container name or compose service that ran `cleanMs` without dying is its baseline; an incident's
 * facts are compared with it.
 */
export class Baselines {
  private readonly baselines = new Map<string, ContainerFacts>();
  /** Runs not yet proven clean, by `host/container id`. */
  private readonly running = new Map<string, { facts: ContainerFacts; startedAt: number }>();

  constructor(
    private readonly cleanMs: number,
    private readonly persistence?: BaselinePersistence,
  ) {
    for (const facts of persistence?.loadBaselines() ?? []) this.baselines.set(baselineSubject(facts), facts);
  }

  observeFacts(facts: ContainerFacts): void {
    const startedAt = Date.parse(facts.state.startedAt);
    const key = `${facts.host}/${facts.id}`;
    if (facts.state.status !== 'running' || !(startedAt > 0)) return;
    const known = this.running.get(key);
    if (known && known.startedAt > startedAt) return;
    this.running.set(key, { facts, startedAt });
  }

  /** After the event's incidents were annotated: a `die` ends its container's run, clean if it lasted. */
  observeEvent(event: NormalizedEvent): void {
    if (event.docker?.action !== 'die' || !event.container) return;
    const key = `${event.host}/${event.container.id}`;
    const run = this.running.get(key);
    if (!run) return;
    this.running.delete(key);
    if (event.ts - run.startedAt >= this.cleanMs) this.promote(run.facts);
  }

  /** Runs still going `cleanMs` after they started are clean. */
  promoteDue(now: number): void {
    for (const [key, run] of this.running) {
      if (now - run.startedAt < this.cleanMs) continue;
      this.running.delete(key);
      this.promote(run.facts);
    }
  }

  private promote(facts: ContainerFacts): void {
    const subject = baselineSubject(facts);
    this.baselines.set(subject, facts);
    this.persistence?.saveBaseline(subject, facts);
  }

  /** Adds `changes` to each signal whose container has a baseline (an empty list: nothing changed). */
  annotate(updates: readonly IncidentUpdate[]): readonly IncidentUpdate[] {
    if (updates.length === 0 || this.baselines.size === 0) return updates;
    return updates.map((update) => {
      if (update.op !== 'signal' || !update.facts) return update;
      const baseline = this.baselines.get(baselineSubject(update.facts));
      return baseline ? { ...update, context: { ...update.context, changes: configChanges(baseline, update.facts) } } : update;
    });
  }
}

const UNITS: [number, string][] = [
  [2 ** 30, 'GiB'],
  [2 ** 20, 'MiB'],
  [2 ** 10, 'KiB'],
];

function bytes(value: number): string {
  if (value <= 0) return 'unlimited';
  for (const [size, unit] of UNITS) if (value >= size && value % (size / 16) === 0) return `${value / size} ${unit}`;
  return `${value} bytes`;
}

const unlimitedIfNotPositive = (value: number): string => (value > 0 ? String(value) : 'unlimited');

/** The compared parts of a setup, field by field (env by name only: its values are never kept). */
function comparable(facts: ContainerFacts): Map<string, string> {
  const fields = new Map<string, string>([
    ['image', facts.image],
    ['command', facts.command.join(' ')],
    ['limits.memory', bytes(facts.limits.memory)],
    ['limits.memorySwap', facts.limits.memorySwap < 0 ? 'unlimited' : bytes(facts.limits.memorySwap)],
    ['limits.pids', unlimitedIfNotPositive(facts.limits.pids)],
    ['limits.cpus', facts.limits.nanoCpus > 0 ? String(facts.limits.nanoCpus / 1e9) : 'unlimited'],
    ['limits.oomKillDisable', String(facts.limits.oomKillDisable)],
    ['restartPolicy', facts.restartPolicy.maximumRetryCount > 0 ? `${facts.restartPolicy.name}:${facts.restartPolicy.maximumRetryCount}` : facts.restartPolicy.name],
  ]);
  if (facts.imageId) fields.set('imageId', facts.imageId);
  for (const entry of facts.env) fields.set(`env.${entry.split('=', 1)[0] ?? entry}`, 'set');
  for (const m of facts.mounts ?? []) {
    fields.set(`mount:${m.destination}`, `${m.type}${m.source ? ` ${m.source}` : ''}${m.readOnly ? ' (ro)' : ''}${m.sizeBytes ? ` ${bytes(m.sizeBytes)}` : ''}`);
  }
  // Compose's own bookkeeping labels (config hash, container number) change with every recreate.
  for (const [key, value] of Object.entries(facts.labels)) if (!key.startsWith('com.docker.compose.')) fields.set(`label.${key}`, value);
  return fields;
}

/** What differs between two setups of one container name or service, field by field. */
export function configChanges(before: ContainerFacts, after: ContainerFacts): ConfigChange[] {
  const was = comparable(before);
  const now = comparable(after);
  const changes: ConfigChange[] = [];
  for (const field of new Set([...was.keys(), ...now.keys()])) {
    // An image id missing on one side (facts from an older collector) is unknown, not changed.
    if (field === 'imageId' && !(was.has(field) && now.has(field))) continue;
    const b = was.get(field) ?? null;
    const a = now.get(field) ?? null;
    if (b !== a) changes.push({ field: cutText(field, 600), before: b === null ? null : cutText(b, 4096), after: a === null ? null : cutText(a, 4096) });
  }
  return changes.slice(0, 500);
}
