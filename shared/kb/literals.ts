/**
 * Literal prefilter: the text a regular expression cannot match without. A detector's regex runs
 * only when one of its literals occurs in the message (one scan of the message for every literal of
 * the KB is far cheaper than the regexes that would fail), which keeps the cost of a benign line low
 * however many detectors the KB has.
 *
 * The regex source is parsed (the subset of JavaScript syntax the KB uses; anything else counts as
 * one unknown character) and each part gets what it is known to match:
 * - `exact`: the complete, finite set of strings it matches (`foo`, `[Tt]oo`, `(?:ed)?`, `a|b`);
 * - `required`: a set of strings one of which every match contains.
 * A sequence multiplies the exact sets of adjacent parts into longer literals and keeps the most
 * selective set; an alternation unites the sets of its branches (all of them must have one).
 */
const MIN_LITERAL = 3;
/** Beyond this many strings a set is no longer multiplied out (keeps the automaton small). */
const MAX_SET = 16;
/** A class of more characters than this is an unknown character, not a set of literals. */
const MAX_CLASS = 4;

interface Info {
  /** Every string the part matches, when finite and small. */
  exact?: string[];
  /** One of these occurs in every match of the part. */
  required?: string[];
}

const UNKNOWN: Info = {};
const EMPTY: Info = { exact: [''] };

/** Higher is more selective: the shortest literal counts, then fewer alternatives. */
function score(set: string[] | undefined): number {
  if (!set || set.length === 0) return -1;
  const shortest = Math.min(...set.map((s) => s.length));
  return shortest < MIN_LITERAL ? -1 : shortest * 100 - set.length;
}

const better = (a: string[] | undefined, b: string[] | undefined): string[] | undefined => (score(b) > score(a) ? b : a);

/** The best required set of a part: its exact strings when useful, else what it requires. */
const bestOf = (info: Info): string[] | undefined => {
  const best = better(info.required, info.exact);
  return score(best) >= 0 ? best : undefined;
};

function product(a: string[], b: string[]): string[] | undefined {
  if (a.length * b.length > MAX_SET) return undefined;
  return [...new Set(a.flatMap((x) => b.map((y) => x + y)))];
}

function sequence(parts: Info[]): Info {
  let run: string[] | undefined = [''];
  let best: string[] | undefined;
  let exact = true;
  for (const part of parts) {
    const next: string[] | undefined = run && part.exact ? product(run, part.exact) : undefined;
    if (next) {
      run = next;
      continue;
    }
    best = better(best, run);
    best = better(best, bestOf(part));
    exact = false;
    // An exact part too large to multiply still starts the next run; an unknown one breaks it.
    run = part.exact ? part.exact : [''];
  }
  best = better(best, run);
  return { ...(exact && run ? { exact: run } : {}), ...(score(best) >= 0 ? { required: best } : {}) };
}

function alternation(branches: Info[]): Info {
  if (branches.length === 1) return branches[0] as Info;
  const exact = branches.every((b) => b.exact) ? [...new Set(branches.flatMap((b) => b.exact as string[]))] : undefined;
  const sets = branches.map(bestOf);
  const required = sets.every((s) => s) ? [...new Set(sets.flatMap((s) => s as string[]))] : undefined;
  return { ...(exact && exact.length <= MAX_SET ? { exact } : {}), ...(required ? { required } : {}) };
}

const CONTROL_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', f: '\f', v: '\v', '0': '\0' };
/** Escapes that stand for a zero-width assertion, or for one unknown character or more. */
const ZERO_WIDTH_ESCAPES = new Set(['b', 'B']);
const UNKNOWN_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'c', 'p', 'P', 'k', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/** A recursive-descent reader of a regex source, producing the Info of each part. */
class Reader {
  private i = 0;

  constructor(
    private readonly source: string,
    private readonly ignoreCase: boolean,
  ) {}

  /** One character as a literal; under `i`, non-ASCII letters fold in ways the prefilter does not. */
  private char(c: string): Info {
    return this.ignoreCase && c.charCodeAt(0) > 127 ? UNKNOWN : { exact: [c] };
  }

  parse(): Info {
    const info = this.alternatives();
    return this.i < this.source.length ? UNKNOWN : info;
  }

  private alternatives(): Info {
    const branches = [this.sequence()];
    while (this.source[this.i] === '|') {
      this.i += 1;
      branches.push(this.sequence());
    }
    return alternation(branches);
  }

  private sequence(): Info {
    const parts: Info[] = [];
    while (this.i < this.source.length && this.source[this.i] !== '|' && this.source[this.i] !== ')') {
      parts.push(this.quantified(this.atom()));
    }
    return sequence(parts);
  }

  private quantified(atom: Info): Info {
    const rest = this.source.slice(this.i);
    const m = /^(?:([?*+])|\{(\d+)(?:(,)(\d*))?\})\??/.exec(rest);
    if (!m) return atom;
    this.i += m[0].length;
    const min = m[1] === '+' ? 1 : m[1] !== undefined ? 0 : Number(m[2]);
    const max = m[1] !== undefined ? (m[1] === '?' ? 1 : Infinity) : m[3] === undefined ? min : m[4] ? Number(m[4]) : Infinity;
    if (max === 0) return EMPTY;
    if (min === 0) return max === 1 && atom.exact ? { exact: [...new Set(['', ...atom.exact])] } : UNKNOWN;
    if (min === max && atom.exact) {
      let exact: string[] | undefined = [''];
      for (let k = 0; k < min && exact; k += 1) exact = product(exact, atom.exact);
      if (exact) return { exact };
    }
    const required = bestOf(atom);
    return required ? { required } : UNKNOWN;
  }

  private atom(): Info {
    const c = this.source[this.i] as string;
    this.i += 1;
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    if (c === '\\') return this.escape();
    if (c === '^' || c === '$') return EMPTY;
    if (c === '.') return UNKNOWN;
    return this.char(c);
  }

  private group(): Info {
    let lookaround = false;
    if (this.source[this.i] === '?') {
      const head = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(this.source.slice(this.i))?.[0] ?? '?';
      lookaround = head === '?=' || head === '?!' || head === '?<=' || head === '?<!';
      this.i += head.length;
    }
    const inner = this.alternatives();
    if (this.source[this.i] === ')') this.i += 1;
    // A lookaround consumes nothing: it neither adds to nor breaks the literal around it.
    return lookaround ? EMPTY : inner;
  }

  private charClass(): Info {
    const chars: string[] = [];
    let plain = this.source[this.i] !== '^';
    while (this.i < this.source.length && this.source[this.i] !== ']') {
      let c = this.source[this.i] as string;
      if (c === '\\') {
        this.i += 1;
        const e = this.source[this.i] as string;
        if (UNKNOWN_ESCAPES.has(e) || ZERO_WIDTH_ESCAPES.has(e) || e === 'x' || e === 'u') plain = false;
        c = CONTROL_ESCAPES[e] ?? e;
      } else if (c === '-' && chars.length > 0 && this.source[this.i + 1] !== ']') {
        plain = false;
      }
      chars.push(c);
      this.i += 1;
    }
    this.i += 1;
    if (!plain || chars.length === 0 || chars.length > MAX_CLASS) return UNKNOWN;
    const infos = [...new Set(chars)].map((c) => this.char(c));
    return infos.every((info) => info.exact) ? { exact: infos.flatMap((info) => info.exact as string[]) } : UNKNOWN;
  }

  private escape(): Info {
    const e = this.source[this.i] as string;
    this.i += 1;
    if (ZERO_WIDTH_ESCAPES.has(e)) return EMPTY;
    if (e === 'x' || e === 'u') {
      const hex = /^(?:[0-9a-fA-F]{2}|[0-9a-fA-F]{4})/.exec(this.source.slice(this.i))?.[0];
      const length = e === 'x' ? 2 : 4;
      if (!hex || hex.length < length) return UNKNOWN;
      this.i += length;
      return this.char(String.fromCharCode(parseInt(hex.slice(0, length), 16)));
    }
    if (UNKNOWN_ESCAPES.has(e)) {
      if (e === 'p' || e === 'P' || e === 'k') {
        const braces = /^[{<][^}>]*[}>]/.exec(this.source.slice(this.i));
        if (braces) this.i += braces[0].length;
      } else if (e === 'c') {
        this.i += 1;
      }
      return UNKNOWN;
    }
    return this.char(CONTROL_ESCAPES[e] ?? e);
  }
}

/**
 * Literals of which at least one occurs in every string the regex matches, or undefined when no
 * such set of useful length exists (the regex then always runs). Lowercased for `ignoreCase`.
 */
export function requiredLiterals(source: string, ignoreCase: boolean): string[] | undefined {
  const literals = bestOf(new Reader(source, ignoreCase).parse());
  if (!literals) return undefined;
  return ignoreCase ? [...new Set(literals.map((l) => l.toLowerCase()))] : literals;
}
