import type { EventKind, NormalizedEvent } from '../../shared/event.js';
import type { Detector, KbEntry, Match } from '../../shared/kb/schema.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { requiredLiterals } from '../../shared/kb/literals.js';
import { kindsOf, LiteralGate } from '../../shared/kb/prefilter.js';

/** What the detectors' conditions read of an event: a pasted line's is enough, without identity or time. */
export type MatchableEvent = Pick<NormalizedEvent, 'kind' | 'message' | 'docker' | 'exitCode' | 'container' | 'probe'>;

type Predicate = (event: MatchableEvent) => boolean;

/** What a matching predicate feeds: a detector directly, a window, or one step of a sequence. */
export type Target =
  | { type: 'single'; entry: KbEntry; detector: Detector; evidenceOnly: boolean }
  | { type: 'window'; entry: KbEntry; detector: Detector; evidenceOnly: boolean }
  | { type: 'step'; entry: KbEntry; detector: Detector; step: number; evidenceOnly: boolean };

interface CompiledPredicate {
  test: Predicate;
  target: Target;
  /** Event kinds it applies to. */
  kinds: ReadonlySet<EventKind>;
  /** Whether a line of unknown origin can meet it: it has a message regex and no Docker or probe condition. */
  anyKind: boolean;
  /** The message regex, when the match has one. */
  message?: RegExp;
  /** Literals of which one must occur in the message (prefilter); none: always evaluated. */
  literals?: string[];
}

const asArray = <T>(value: T | T[] | undefined): T[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

/**
 * Compiles one match into a closure that checks the cheap conditions before the regex. The regex's
 * literals are checked before the closure runs (one scan for all predicates, see `compileKb`).
 */
function compileMatch(match: Match, message: RegExp | undefined): Predicate {
  const checks: Predicate[] = [];
  const actions = asArray(match.action);
  if (actions) {
    const set = new Set(actions);
    checks.push((e) => e.docker !== undefined && set.has(e.docker.action));
  }
  const exitCodes = asArray(match.exitCode);
  if (exitCodes) checks.push((e) => e.exitCode !== undefined && exitCodes.includes(e.exitCode));
  if (match.exitCodeNot) {
    const excluded = match.exitCodeNot;
    checks.push((e) => e.exitCode !== undefined && !excluded.includes(e.exitCode));
  }
  if (match.attributes) {
    const wanted = Object.entries(match.attributes);
    checks.push((e) => e.docker !== undefined && wanted.every(([k, v]) => e.docker?.attributes[k] === v));
  }
  if (match.probe) {
    const { metric, atLeast, above } = match.probe;
    checks.push(
      (e) =>
        e.probe !== undefined &&
        e.probe.metric === metric &&
        (atLeast === undefined || e.probe.value >= atLeast) &&
        (above === undefined || e.probe.value > above),
    );
  }
  if (match.container) checks.push((e) => e.container !== undefined);
  if (message) checks.push((e) => message.test(e.message));
  if (checks.length === 1) return checks[0] as Predicate;
  return (e) => {
    for (const check of checks) if (!check(e)) return false;
    return true;
  };
}

/** The KB compiled once at load: predicates indexed by event kind. */
export interface CompiledKb {
  readonly kb: KnowledgeBase;
  /** Every predicate of every detector that holds for the event. */
  match(event: MatchableEvent): readonly Target[];
  /**
   * Same, for a line whose origin nothing tells (`fineprint classify` on a line without a
   * recognised prefix): the message predicates of every kind are tried, whatever the event's kind;
   * those that need Docker event fields or a probe reading cannot hold and are left out. The live
   * pipeline knows its sources and keeps using `match`.
   */
  matchAnyKind(event: MatchableEvent): readonly Target[];
  /** The part of the message the target's regex matches (for `classify --explain`). */
  matchedText(target: Target, message: string): string | undefined;
  /** Longest window or sequence span in the KB, in ms (how far back state matters). */
  readonly maxSpanMs: number;
}

const KIND_INDEX: Record<EventKind, number> = { docker: 0, kernel: 1, log: 2, probe: 3, audit: 4 };
const KIND_OF_INDEX = Object.keys(KIND_INDEX) as EventKind[];
/** The predicate table of `matchAnyKind`, after those of the kinds. */
const ANY_KIND = 5;
const TABLES = 6;
const NO_TARGETS: readonly Target[] = Object.freeze([]);
const ascending = (a: number, b: number): number => a - b;

/** The predicates (indices, in KB order) of one event kind, or of lines of unknown kind. */
type Table = LiteralGate<number>;

/** Conditions only a Docker event or a probe reading can meet. */
const needsStructuredEvent = (match: Match): boolean =>
  match.action !== undefined ||
  match.attributes !== undefined ||
  match.exitCode !== undefined ||
  match.exitCodeNot !== undefined ||
  match.probe !== undefined;

export function compileKb(kb: KnowledgeBase): CompiledKb {
  const predicates: CompiledPredicate[] = [];
  let maxSpanMs = 0;

  const add = (match: Match, target: Target) => {
    const message = match.message ? new RegExp(match.message, match.ignoreCase === true ? 'i' : '') : undefined;
    const literals = match.message ? requiredLiterals(match.message, match.ignoreCase === true) : undefined;
    predicates.push({
      test: compileMatch(match, message),
      target,
      kinds: new Set(kindsOf(match.kind)),
      anyKind: message !== undefined && !needsStructuredEvent(match),
      ...(message ? { message } : {}),
      ...(literals ? { literals } : {}),
    });
  };

  for (const entry of kb.entries) {
    for (const detector of entry.detectors) {
      const evidenceOnly = detector.evidenceOnly === true;
      if ('match' in detector) add(detector.match, { type: 'single', entry, detector, evidenceOnly });
      if ('window' in detector) {
        maxSpanMs = Math.max(maxSpanMs, detector.window.within);
        add(detector.window.match, { type: 'window', entry, detector, evidenceOnly });
      }
      if ('sequence' in detector) {
        maxSpanMs = Math.max(maxSpanMs, detector.sequence.within);
        detector.sequence.steps.forEach((step, index) =>
          add(step, { type: 'step', entry, detector, step: index, evidenceOnly }),
        );
      }
    }
  }

  // Per table (each event kind, and any kind): a scanner of the literals of its predicates only,
  // the predicates each literal opens, and those evaluated on every event (no message regex, or one
  // without a useful literal). Indices keep the KB order of the hits.
  const tables: Table[] = Array.from({ length: TABLES }, (_, table) => {
    const filed = predicates.flatMap((predicate, index) =>
      (table === ANY_KIND ? predicate.anyKind : predicate.kinds.has(KIND_OF_INDEX[table] as EventKind)) ? [{ item: index, literals: predicate.literals }] : [],
    );
    return new LiteralGate(filed);
  });
  const regexOf = new Map<Target, RegExp>();
  for (const predicate of predicates) if (predicate.message) regexOf.set(predicate.target, predicate.message);

  // Reused across events: the candidate predicates of the current event, deduplicated by stamp.
  const candidates: number[] = [];
  const stamp = new Float64Array(predicates.length);
  let epoch = 0;

  const matchIn = ({ scanner, gatedBy, ungated }: Table, event: MatchableEvent): readonly Target[] => {
    const found = scanner.scan(event.message);
    let order: readonly number[] = ungated;
    if (found > 0) {
      epoch += 1;
      candidates.length = 0;
      for (let f = 0; f < found; f += 1) {
        for (const index of gatedBy[scanner.foundAt(f)] as readonly number[]) {
          if (stamp[index] === epoch) continue;
          stamp[index] = epoch;
          candidates.push(index);
        }
      }
      for (const index of ungated) candidates.push(index);
      candidates.sort(ascending);
      order = candidates;
    }
    let hits: Target[] | undefined;
    for (let i = 0; i < order.length; i += 1) {
      const predicate = predicates[order[i] as number] as CompiledPredicate;
      if (predicate.test(event)) (hits ??= []).push(predicate.target);
    }
    return hits ?? NO_TARGETS;
  };
  const byKind = tables.slice(0, ANY_KIND);
  const anyKind = tables[ANY_KIND] as Table;

  return {
    kb,
    maxSpanMs,
    match: (event) => matchIn(byKind[KIND_INDEX[event.kind]] as Table, event),
    matchAnyKind: (event) => matchIn(anyKind, event),
    matchedText(target, message) {
      return regexOf.get(target)?.exec(message)?.[0];
    },
  };
}
