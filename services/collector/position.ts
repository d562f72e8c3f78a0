/**
 * Positions in time-ordered streams (Docker events, container logs), with nanosecond precision.
 *
 * Docker's `since` filters are inclusive, so resuming at the last time read replays what was read at
 * exactly that time: a position keeps the keys already seen at that time to skip them.
 */
export interface Position {
  /** Nanoseconds since the epoch. */
  t: bigint;
  /** Keys of the items already read at exactly `t`. */
  seen: string[];
}

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Nanoseconds since the epoch of an RFC 3339 time with up to 9 fractional digits (Docker's format). */
export function rfc3339ToNanos(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m?.[1] || !m[3]) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Docker API `since`/`until` form: `<seconds>.<nanoseconds>`. */
export function nanosToSince(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

export function nanosToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}

export function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function encodePosition(p: Position): string {
  return JSON.stringify({ t: p.t.toString(), seen: p.seen });
}

/** Undefined for a missing or unreadable value (the source then starts fresh). */
export function decodePosition(text: string | undefined): Position | undefined {
  if (!text) return undefined;
  try {
    const raw = JSON.parse(text) as { t?: unknown; seen?: unknown };
    if (typeof raw.t !== 'string' || !/^\d+$/.test(raw.t)) return undefined;
    const seen = Array.isArray(raw.seen) ? raw.seen.filter((s): s is string => typeof s === 'string') : [];
    return { t: BigInt(raw.t), seen };
  } catch {
    return undefined;
  }
}

/** True when (t, key) is at or before the position, i.e. was already read. */
export function isAtOrBefore(p: Position | undefined, t: bigint, key: string): boolean {
  if (!p) return false;
  return t < p.t || (t === p.t && p.seen.includes(key));
}

/** The position after reading (t, key), given the one before. */
export function advance(p: Position | undefined, t: bigint, key: string): Position {
  if (!p || t > p.t) return { t, seen: [key] };
  if (t === p.t) return { t, seen: [...p.seen, key] };
  return p;
}
