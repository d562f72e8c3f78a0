/**
 * Literal prefilter: the text a regular expression cannot match without. A detector's regex runs
 * only when one of its literals occurs in the message (a substring search is far cheaper than a
 * regex that fails), which keeps the cost of a benign line low however many detectors the KB has.
 */
const MIN_LITERAL = 3;

/** Splits a regex source at its top-level `|` (outside groups and classes). */
function topLevelAlternatives(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i];
    if (c === '\\') {
      i += 1;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(') {
      depth += 1;
    } else if (c === ')') {
      depth -= 1;
    } else if (c === '|' && depth === 0) {
      parts.push(source.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(source.slice(start));
  return parts;
}

const ESCAPED_CLASS = new Set(['d', 'D', 'w', 'W', 's', 'S', 'b', 'B', 'n', 'r', 't', 'f', 'v', '0', 'c', 'x', 'u', 'p', 'P', 'k']);

/** The longest run of plain characters that every match of this alternative contains. */
function longestRun(alternative: string): string {
  let best = '';
  let run = '';
  const endRun = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; i < alternative.length; i += 1) {
    const c = alternative[i] as string;
    let literal: string | undefined;
    if (c === '\\') {
      const next = alternative[i + 1] ?? '';
      i += 1;
      if (!ESCAPED_CLASS.has(next) && !/[1-9]/.test(next)) literal = next;
    } else if (c === '[') {
      // Skip the class: it stands for one unknown character.
      for (i += 1; i < alternative.length && alternative[i] !== ']'; i += 1) if (alternative[i] === '\\') i += 1;
    } else if (c === '(') {
      // Skip the group: its content may be optional or alternative.
      let depth = 1;
      for (i += 1; i < alternative.length && depth > 0; i += 1) {
        if (alternative[i] === '\\') i += 1;
        else if (alternative[i] === '(') depth += 1;
        else if (alternative[i] === ')') depth -= 1;
      }
      i -= 1;
    } else if (!'.^$|)?*+{'.includes(c)) {
      literal = c;
    }
    const rest = alternative.slice(i + 1);
    const braces = /^\{(\d+)(?:,\d*)?\}\??/.exec(rest);
    const quantifier = braces ? '{' : /^[?*+]\??/.exec(rest)?.[0] ?? '';
    const optional = quantifier.startsWith('?') || quantifier.startsWith('*') || braces?.[1] === '0';
    if (literal === undefined || optional) {
      endRun();
    } else {
      run += literal;
      // A repeated character is required once; what follows it is no longer adjacent.
      if (quantifier !== '') endRun();
    }
    i += braces ? braces[0].length : quantifier.length;
  }
  endRun();
  return best;
}

/**
 * Literals of which at least one occurs in every string the regex matches, or undefined when no
 * such set of useful length exists (the regex then always runs). Lowercased for `ignoreCase`.
 */
export function requiredLiterals(source: string, ignoreCase: boolean): string[] | undefined {
  const literals: string[] = [];
  for (const alternative of topLevelAlternatives(source)) {
    const run = longestRun(alternative);
    if (run.length < MIN_LITERAL) return undefined;
    literals.push(ignoreCase ? run.toLowerCase() : run);
  }
  return literals;
}
