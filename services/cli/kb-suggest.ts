/** Edit distance (insertions, deletions, substitutions), for suggesting what a mistyped id meant. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** Suggestions shown at most. */
const MAX_SUGGESTIONS = 3;

/**
 * The ids a mistyped or partial one most likely meant: those containing it as a word prefix
 * (`oom` -> `oom-kill`), then those within a few typos of it, closest first.
 */
export function closestIds(query: string, ids: readonly string[]): string[] {
  const q = query.toLowerCase();
  const partial = ids.filter((id) => id.split('-').some((_, i, words) => words.slice(i).join('-').startsWith(q)));
  const typos = ids
    .map((id) => ({ id, d: distance(q, id) }))
    .filter(({ id, d }) => d <= Math.max(1, Math.floor(id.length / 4)) && !partial.includes(id))
    .sort((a, b) => a.d - b.d || a.id.localeCompare(b.id))
    .map(({ id }) => id);
  return [...partial.sort(), ...typos].slice(0, MAX_SUGGESTIONS);
}
