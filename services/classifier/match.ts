import type { EventKind, NormalizedEvent } from '../../shared/event.js';
import type { Detector, KbEntry, Match } from '../../shared/kb/schema.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { requiredLiterals } from './literals.js';
import { LiteralScanner } from './prefilter.js';

type Predicate = (event: NormalizedEvent) => boolean;

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
  /** Literal ids of which one must occur in the message (prefilter); none: always evaluated. */
  literals?: number[];
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

const ALL_KINDS: readonly EventKind[] = ['docker', 'kernel', 'log', 'probe'];

/** The KB compiled once at load: predicates indexed by event kind. */
export interface CompiledKb {
  readonly kb: KnowledgeBase;
  /** Every predicate of every detector that holds for the event. */
  match(event: NormalizedEvent): readonly Target[];
  /**
   * Same, for a line whose origin nothing tells (`fineprint classify` on a line without a
   * recognised prefix): the message predicates of every kind are tried, whatever the event's kind;
   * those that need Docker event fields or a probe reading cannot hold and are left out. The live
   * pipeline knows its sources and keeps using `match`.
   */
  matchAnyKind(event: NormalizedEvent): readonly Target[];
  /** The part of the message the target's regex matches (for `classify --explain`). */
  matchedText(target: Target, message: string): string | undefined;
  /** True when a log line could match some detector: the collector forwards only these lines. */
  acceptLogLine(message: string): boolean;
  /** Longest window or sequence span in the KB, in ms (how far back state matters). */
  readonly maxSpanMs: number;
}

const KIND_INDEX: Record<EventKind, number> = { docker: 0, kernel: 1, log: 2, probe: 3, audit: 4 };
/** The predicate table of `matchAnyKind`, after those of the kinds. */
const ANY_KIND = 5;
const TABLES = 6;
const NO_TARGETS: readonly Target[] = Object.freeze([]);
const ascending = (a: number, b: number): number => a - b;

/** Conditions only a Docker event or a probe reading can meet. */
const needsStructuredEvent = (match: Match): boolean =>
  match.action !== undefined ||
  match.attributes !== undefined ||
  match.exitCode !== undefined ||
  match.exitCodeNot !== undefined ||
  match.probe !== undefined;

export function compileKb(kb: KnowledgeBase): CompiledKb {
  const predicates: CompiledPredicate[] = [];
  const literalIds = new Map<string, number>();
  const literalId = (literal: string): number => {
    let id = literalIds.get(literal);
    if (id === undefined) literalIds.set(literal, (id = literalIds.size));
    return id;
  };
  let maxSpanMs = 0;

  const add = (match: Match, target: Target) => {
    const message = match.message ? new RegExp(match.message, match.ignoreCase === true ? 'i' : '') : undefined;
    const literals = match.message ? requiredLiterals(match.message, match.ignoreCase === true) : undefined;
    predicates.push({
      test: compileMatch(match, message),
      target,
      kinds: new Set(asArray(match.kind) ?? ALL_KINDS),
      anyKind: message !== undefined && !needsStructuredEvent(match),
      ...(message ? { message } : {}),
      ...(literals ? { literals: literals.map(literalId) } : {}),
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

  // Per table (each event kind, and any kind): the predicates each literal opens, and those
  // evaluated on every event (no message regex, or one without a useful literal). Indices keep the
  // KB order of the hits.
  const scanner = new LiteralScanner([...literalIds.keys()]);
  const gatedBy = Array.from({ length: TABLES }, () => Array.from({ length: literalIds.size }, (): number[] => []));
  const ungated = Array.from({ length: TABLES }, (): number[] => []);
  const file = (table: number, predicate: CompiledPredicate, index: number) => {
    if (predicate.literals) for (const id of predicate.literals) (gatedBy[table]?.[id] as number[]).push(index);
    else ungated[table]?.push(index);
  };
  predicates.forEach((predicate, index) => {
    for (const kind of predicate.kinds) file(KIND_INDEX[kind], predicate, index);
    if (predicate.anyKind) file(ANY_KIND, predicate, index);
  });
  const logKind = KIND_INDEX.log;
  const logUngated = (ungated[logKind] as number[]).flatMap((index) => predicates[index]?.message ?? []);
  const regexOf = new Map<Target, RegExp>();
  for (const predicate of predicates) if (predicate.message) regexOf.set(predicate.target, predicate.message);

  // Reused across events: the candidate predicates of the current event, deduplicated by stamp.
  const candidates: number[] = [];
  const stamp = new Float64Array(predicates.length);
  let epoch = 0;

  const matchIn = (table: number, event: NormalizedEvent): readonly Target[] => {
    const always = ungated[table] as number[];
    const found = scanner.scan(event.message);
    let order: readonly number[] = always;
    if (found > 0) {
      epoch += 1;
      candidates.length = 0;
      const gates = gatedBy[table] as number[][];
      for (let f = 0; f < found; f += 1) {
        for (const index of gates[scanner.foundAt(f)] as number[]) {
          if (stamp[index] === epoch) continue;
          stamp[index] = epoch;
          candidates.push(index);
        }
      }
      if (candidates.length > 0) {
        for (const index of always) candidates.push(index);
        candidates.sort(ascending);
        order = candidates;
      }
    }
    let hits: Target[] | undefined;
    for (let i = 0; i < order.length; i += 1) {
      const predicate = predicates[order[i] as number] as CompiledPredicate;
      if (predicate.test(event)) (hits ??= []).push(predicate.target);
    }
    return hits ?? NO_TARGETS;
  };

  return {
    kb,
    maxSpanMs,
    match: (event) => matchIn(KIND_INDEX[event.kind], event),
    matchAnyKind: (event) => matchIn(ANY_KIND, event),
    matchedText(target, message) {
      return regexOf.get(target)?.exec(message)?.[0];
    },
    acceptLogLine(message) {
      const found = scanner.scan(message);
      const gates = gatedBy[logKind] as number[][];
      for (let f = 0; f < found; f += 1) {
        for (const index of gates[scanner.foundAt(f)] as number[]) if (predicates[index]?.message?.test(message)) return true;
      }
      for (const regex of logUngated) if (regex.test(message)) return true;
      return false;
    },
  };
}
