import type { EventKind, NormalizedEvent } from '../../shared/event.js';
import type { Detector, KbEntry, Match } from '../../shared/kb/schema.js';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { requiredLiterals } from './literals.js';

/** `lowered` gives the message lowercased, computed once per event however many detectors ask. */
type Predicate = (event: NormalizedEvent, lowered: () => string) => boolean;

/** What a matching predicate feeds: a detector directly, a window, or one step of a sequence. */
export type Target =
  | { type: 'single'; entry: KbEntry; detector: Detector; evidenceOnly: boolean }
  | { type: 'window'; entry: KbEntry; detector: Detector; evidenceOnly: boolean }
  | { type: 'step'; entry: KbEntry; detector: Detector; step: number; evidenceOnly: boolean };

interface CompiledPredicate {
  test: Predicate;
  target: Target;
}

const asArray = <T>(value: T | T[] | undefined): T[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

type MessageTest = (message: string, lowered: () => string) => boolean;

/** A regex behind its literal prefilter: most lines fail the cheap substring search. */
function messageTest(source: string, ignoreCase: boolean): MessageTest {
  const regex = new RegExp(source, ignoreCase ? 'i' : '');
  const literals = requiredLiterals(source, ignoreCase);
  if (!literals) return (message) => regex.test(message);
  const [only] = literals;
  if (literals.length === 1 && only !== undefined) {
    return ignoreCase
      ? (message, lowered) => lowered().includes(only) && regex.test(message)
      : (message) => message.includes(only) && regex.test(message);
  }
  return (message, lowered) => {
    const text = ignoreCase ? lowered() : message;
    return literals.some((l) => text.includes(l)) && regex.test(message);
  };
}

/** Compiles one match into a closure that checks the cheap conditions before the regex. */
function compileMatch(match: Match): Predicate {
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
  if (match.message) {
    const test = messageTest(match.message, match.ignoreCase === true);
    checks.push((e, lowered) => test(e.message, lowered));
  }
  if (checks.length === 1) return checks[0] as Predicate;
  return (e, lowered) => {
    for (const check of checks) if (!check(e, lowered)) return false;
    return true;
  };
}

const ALL_KINDS: readonly EventKind[] = ['docker', 'kernel', 'log', 'probe'];

/** The KB compiled once at load: predicates indexed by event kind. */
export interface CompiledKb {
  readonly kb: KnowledgeBase;
  /** Every predicate of every detector that holds for the event. */
  match(event: NormalizedEvent): Target[];
  /** True when a log line could match some detector: the collector forwards only these lines. */
  acceptLogLine(message: string): boolean;
  /** Longest window or sequence span in the KB, in ms (how far back state matters). */
  readonly maxSpanMs: number;
}

export function compileKb(kb: KnowledgeBase): CompiledKb {
  const byKind = new Map<EventKind, CompiledPredicate[]>(ALL_KINDS.map((k) => [k, []]));
  const logMessageTests: MessageTest[] = [];
  let maxSpanMs = 0;

  const add = (match: Match, target: Target) => {
    const predicate = { test: compileMatch(match), target };
    for (const kind of asArray(match.kind) ?? ALL_KINDS) byKind.get(kind)?.push(predicate);
    const kinds = asArray(match.kind);
    if (match.message && (!kinds || kinds.includes('log'))) {
      logMessageTests.push(messageTest(match.message, match.ignoreCase === true));
    }
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

  return {
    kb,
    maxSpanMs,
    match(event) {
      const hits: Target[] = [];
      let lower: string | undefined;
      const lowered = () => (lower ??= event.message.toLowerCase());
      for (const predicate of byKind.get(event.kind) ?? []) if (predicate.test(event, lowered)) hits.push(predicate.target);
      return hits;
    },
    acceptLogLine(message) {
      let lower: string | undefined;
      const lowered = () => (lower ??= message.toLowerCase());
      for (const test of logMessageTests) if (test(message, lowered)) return true;
      return false;
    },
  };
}
