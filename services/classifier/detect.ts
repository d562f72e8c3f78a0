import type { NormalizedEvent } from '../../shared/event.js';
import type { KbEntry } from '../../shared/kb/schema.js';
import type { Target } from './match.js';

/** A detector fired: the event that completed it, plus the earlier events of its window or sequence. */
export interface Signal {
  entry: KbEntry;
  detectorId: string;
  evidenceOnly: boolean;
  event: NormalizedEvent;
  related: NormalizedEvent[];
  /** What the event means in its container's setup (the detector's KB note), once placed. */
  note?: string;
}

interface WindowState {
  events: NormalizedEvent[];
}

interface SequenceState {
  next: number;
  startTs: number;
  events: NormalizedEvent[];
}

const NO_SIGNALS: readonly Signal[] = Object.freeze([]);

/** Windows and sequences are per container, or per host for events with no container. */
const subjectOf = (event: NormalizedEvent): string => `${event.host}/${event.container?.id ?? ''}`;

/**
 * Turns predicate hits into signals, keeping the state of windows (N events in T) and sequences
 * (A then B within T). Events are deduplicated by id, so a replayed event never counts twice.
 */
export class Detection {
  private readonly windows = new Map<string, WindowState>();
  private readonly sequences = new Map<string, SequenceState>();
  private lastSweep = 0;

  constructor(private readonly maxSpanMs: number) {}

  observe(event: NormalizedEvent, hits: readonly Target[]): readonly Signal[] {
    if (hits.length === 0) {
      this.sweep(event.ts);
      return NO_SIGNALS;
    }
    const signals: Signal[] = [];
    // Allocated only by a sequence step: most hits are single detectors.
    let sequenceHits: Map<string, { target: Target; steps: number[] }> | undefined;
    for (const target of hits) {
      const { entry, detector, evidenceOnly } = target;
      if (target.type === 'single') {
        signals.push({ entry, detectorId: detector.id, evidenceOnly, event, related: [] });
      } else if (target.type === 'window' && 'window' in detector) {
        const fired = this.observeWindow(`${entry.id}/${detector.id}/${subjectOf(event)}`, detector.window, event);
        if (fired) signals.push({ entry, detectorId: detector.id, evidenceOnly, event, related: fired });
      } else if (target.type === 'step') {
        const key = `${entry.id}/${detector.id}/${subjectOf(event)}`;
        sequenceHits ??= new Map();
        const seen = sequenceHits.get(key) ?? { target, steps: [] };
        seen.steps.push(target.step);
        sequenceHits.set(key, seen);
      }
    }
    for (const [key, { target, steps }] of sequenceHits ?? []) {
      const { detector, entry, evidenceOnly } = target;
      if (!('sequence' in detector)) continue;
      const fired = this.observeSequence(key, detector.sequence, steps, event);
      if (fired) signals.push({ entry, detectorId: detector.id, evidenceOnly, event, related: fired });
    }
    this.sweep(event.ts);
    return signals;
  }

  /** Returns the window's earlier events when it holds `count` events within `within`. */
  private observeWindow(
    key: string,
    window: { count: number; within: number },
    event: NormalizedEvent,
  ): NormalizedEvent[] | undefined {
    const state = this.windows.get(key) ?? { events: [] };
    this.windows.set(key, state);
    if (state.events.some((e) => e.id === event.id)) return undefined;
    state.events.push(event);
    state.events.sort((a, b) => a.ts - b.ts);
    const horizon = event.ts - window.within;
    while (state.events.length > 0 && (state.events[0] as NormalizedEvent).ts < horizon) state.events.shift();
    // Keep only what can still matter: the last `count` events.
    if (state.events.length > window.count) state.events.splice(0, state.events.length - window.count);
    if (state.events.length < window.count) return undefined;
    return state.events.filter((e) => e.id !== event.id);
  }

  /** Advances a sequence with the steps this event matches; returns earlier steps on completion. */
  private observeSequence(
    key: string,
    sequence: { steps: unknown[]; within: number },
    steps: number[],
    event: NormalizedEvent,
  ): NormalizedEvent[] | undefined {
    let state = this.sequences.get(key);
    if (state && event.ts - state.startTs > sequence.within) state = undefined;
    if (state?.events.some((e) => e.id === event.id)) return undefined;
    if (state && steps.includes(state.next)) {
      state.events.push(event);
      state.next += 1;
      if (state.next === sequence.steps.length) {
        this.sequences.delete(key);
        return state.events.slice(0, -1);
      }
      return undefined;
    }
    if (steps.includes(0)) {
      this.sequences.set(key, { next: 1, startTs: event.ts, events: [event] });
    } else if (!state) {
      this.sequences.delete(key);
    }
    return undefined;
  }

  /** Drops expired state now and then so memory stays bounded by the active containers. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    const horizon = now - this.maxSpanMs;
    for (const [key, state] of this.windows) {
      if ((state.events.at(-1)?.ts ?? 0) < horizon) this.windows.delete(key);
    }
    for (const [key, state] of this.sequences) if (state.startTs < horizon) this.sequences.delete(key);
  }
}
