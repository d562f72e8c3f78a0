/**
 * Globs over names, case-insensitive: `*` any run of characters, `?` exactly one; everything else
 * literal. Matched without regular expressions: a glob is split at its stars into segments, the
 * first anchored at the start, the last at the end, and each one between found at its leftmost
 * place after the previous one. Leftmost is always a right choice (a later place leaves less text
 * for the segments after it), so nothing is retried: the cost is at most |glob| x |subject|
 * character comparisons, never the exponential backtracking of `.*` patterns like `*e*e*e*...!`.
 */
export type GlobMatcher = (subject: string) => boolean;

const ANY_ONE = -1;

/** Characters as code points, case folded; `?` in a glob becomes ANY_ONE. */
function codePoints(text: string, wildcards: boolean): number[] {
  const points: number[] = [];
  for (const ch of text.toLowerCase()) points.push(wildcards && ch === '?' ? ANY_ONE : (ch.codePointAt(0) as number));
  return points;
}

/** Whether `segment` matches `subject` at `at`. */
function matchesAt(segment: readonly number[], subject: readonly number[], at: number): boolean {
  for (let i = 0; i < segment.length; i += 1) {
    const c = segment[i] as number;
    if (c !== ANY_ONE && c !== subject[at + i]) return false;
  }
  return true;
}

/** Compiles a glob once, for matching many subjects. */
export function compileGlob(glob: string): GlobMatcher {
  const segments: number[][] = [];
  let current: number[] = [];
  for (const c of codePoints(glob, true)) {
    if (c === 0x2a /* * */) {
      segments.push(current);
      current = [];
    } else {
      current.push(c);
    }
  }
  segments.push(current);
  const [head, ...rest] = segments as [number[], ...number[][]];
  const tail = rest.pop();
  return (text: string): boolean => {
    const subject = codePoints(text, false);
    if (tail === undefined) return subject.length === head.length && matchesAt(head, subject, 0);
    if (subject.length < head.length + tail.length || !matchesAt(head, subject, 0)) return false;
    const end = subject.length - tail.length;
    if (!matchesAt(tail, subject, end)) return false;
    // Middle segments in order, each at its leftmost place between the head and the tail.
    let at = head.length;
    for (const segment of rest) {
      let found = -1;
      for (let start = at; start + segment.length <= end; start += 1) {
        if (matchesAt(segment, subject, start)) {
          found = start;
          break;
        }
      }
      if (found < 0) return false;
      at = found + segment.length;
    }
    return true;
  };
}

/** Whether `subject` matches `glob` (compile once with compileGlob when matching many). */
export function globMatches(glob: string, subject: string): boolean {
  return compileGlob(glob)(subject);
}
