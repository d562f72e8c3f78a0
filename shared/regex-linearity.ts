/**
 * Linearity check for regular expressions that run on text from outside (KB detector messages).
 * V8's backtracking engine can take quadratic or exponential time on some patterns; one hostile
 * log line of 16 KiB (the longest message an event keeps) must not stall the classifier.
 *
 * The check reads the pattern's structure and builds worst cases from it: every unbounded
 * repetition is pumped (alone, after what precedes it, and with that prefix repeated, so each
 * start position of the search pays for the rest of the line), the whole match is repeated after
 * the text its lookbehinds refuse, and each case ends in a character that makes the match fail.
 * Each case is timed at 4 KiB and 16 KiB: a linear pattern takes about 4 times longer on 4 times
 * the text, a quadratic one 16 times, an exponential one never finishes (a timeout stops it).
 * The static shapes found on the way (nested repetitions, overlapping alternatives under a
 * repetition, adjacent overlapping repetitions, unbounded lookbehinds) name the cause in the verdict.
 */
import vm from 'node:vm';

/** Length of the worst case on which the verdict and the reported time are taken (a message's cap). */
export const WORST_CASE_LENGTH = 16_384;
const SMALL_LENGTH = WORST_CASE_LENGTH / 4;
/** Below this time on the 16 KiB worst case a pattern is accepted without measuring its growth. */
const FLOOR_MS = 1;
/** Growth from 4 KiB to 16 KiB above this is super-linear (linear: 4, quadratic: 16). */
const MAX_GROWTH = 8;
/** Attempts that must all show the growth before a pattern counts as super-linear. */
const GROWTH_ATTEMPTS = 5;
/** A pattern still running after this long on one case is super-linear (exponential, in practice). */
const TIMEOUT_MS = 500;
/** Repetitions with a larger bound than this count as unbounded. */
const LARGE_BOUND = 256;

type Node =
  | { type: 'char'; source: string }
  | { type: 'seq'; items: Node[] }
  | { type: 'alt'; branches: Node[] }
  | { type: 'look'; behind: boolean; negative: boolean; body: Node }
  | { type: 'repeat'; body: Node; min: number; max: number }
  | { type: 'empty' };

const EMPTY_NODE: Node = { type: 'empty' };

/** Escapes that match no character (assertions) or refer back to a group: they add nothing to a sample. */
const ZERO_WIDTH_ESCAPE = /^\\(?:[bB]|[1-9]\d*|k<[^>]*>)/;
const CHAR_ESCAPE = /^\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|c[A-Za-z]|[pP]\{[^}]*\}|0|[^])/;

/** Parses a JavaScript regex source into the parts the check pumps (the syntax `new RegExp` accepts). */
class Parser {
  private i = 0;

  constructor(private readonly source: string) {}

  parse(): Node {
    const node = this.alternatives();
    if (this.i < this.source.length) throw new Error(`unexpected "${this.source[this.i]}" at ${this.i}`);
    return node;
  }

  private alternatives(): Node {
    const branches = [this.sequence()];
    while (this.source[this.i] === '|') {
      this.i += 1;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? (branches[0] as Node) : { type: 'alt', branches };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.source.length && this.source[this.i] !== '|' && this.source[this.i] !== ')') {
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? (items[0] as Node) : { type: 'seq', items };
  }

  private quantified(atom: Node): Node {
    const m = /^(?:([?*+])|\{(\d+)(?:(,)(\d*))?\})\??/.exec(this.source.slice(this.i));
    if (!m) return atom;
    this.i += m[0].length;
    const min = m[1] === '+' ? 1 : m[1] !== undefined ? 0 : Number(m[2]);
    const max = m[1] !== undefined ? (m[1] === '?' ? 1 : Infinity) : m[3] === undefined ? min : m[4] ? Number(m[4]) : Infinity;
    return { type: 'repeat', body: atom, min, max };
  }

  private atom(): Node {
    const rest = this.source.slice(this.i);
    const c = rest[0] as string;
    if (c === '(') return this.group();
    if (c === '^' || c === '$') {
      this.i += 1;
      return EMPTY_NODE;
    }
    if (c === '[') {
      const m = /^\[(?:\\[^]|[^\]\\])*\]/.exec(rest);
      if (!m) throw new Error(`unclosed character class at ${this.i}`);
      this.i += m[0].length;
      return { type: 'char', source: m[0] };
    }
    if (c === '\\') {
      const zero = ZERO_WIDTH_ESCAPE.exec(rest);
      if (zero) {
        this.i += zero[0].length;
        return EMPTY_NODE;
      }
      const escape = CHAR_ESCAPE.exec(rest)?.[0] ?? c;
      this.i += escape.length;
      return { type: 'char', source: escape };
    }
    this.i += 1;
    return { type: 'char', source: c === '.' ? c : c.replace(/[{}]/, '\\$&') };
  }

  private group(): Node {
    const head = /^\((?:\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>))?/.exec(this.source.slice(this.i))?.[0] ?? '(';
    this.i += head.length;
    const body = this.alternatives();
    if (this.source[this.i] !== ')') throw new Error(`unclosed group at ${this.i}`);
    this.i += 1;
    const look = /^\(\?(<?)([=!])$/.exec(head);
    return look ? { type: 'look', behind: look[1] === '<', negative: look[2] === '!', body } : body;
  }
}

/** Characters tried first when a class needs a sample (common in log text, distinct from each other). */
const SAMPLE_POOL = 'a1 :A_-./"\'()[]{}x0,=#!@\t';
const ALL_ASCII = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code));

/** What a character atom accepts, over ASCII (enough to compare classes and pick samples). */
class CharSet {
  readonly accepted: ReadonlySet<string>;

  constructor(source: string, flags: string) {
    const regex = new RegExp(`^(?:${source})$`, flags);
    this.accepted = new Set(ALL_ASCII.filter((c) => regex.test(c)));
  }

  /** The first of the preferred characters this accepts, else one of the pool, else any. */
  sample(preferred = ''): string {
    for (const c of preferred + SAMPLE_POOL) if (this.accepted.has(c)) return c;
    return this.accepted.values().next().value ?? 'é';
  }

  overlaps(other: CharSet): boolean {
    for (const c of this.accepted) if (other.accepted.has(c)) return true;
    return false;
  }
}

/** The character sets of one pattern's atoms, each computed once. */
interface CharSets {
  (source: string): CharSet;
  all(): CharSet[];
}

function charSets(flags: string): CharSets {
  const sets = new Map<string, CharSet>();
  const get = (source: string): CharSet => {
    let set = sets.get(source);
    if (!set) sets.set(source, (set = new CharSet(source, flags)));
    return set;
  };
  return Object.assign(get, { all: () => [...sets.values()] });
}

/** One generated worst case: how it is built, and the text of a given length. */
interface WorstCase {
  /** What it pumps, for the verdict: e.g. `"1" repeated`, `"iptables failed: a" repeated`. */
  description: string;
  /** The advice matching the shape this case exercises. */
  hint: string;
  /** The text of about `length` characters, ending in a character that makes the match fail. */
  build(length: number): string;
}

const HINT_REPEATED_START =
  'the search retries the pattern at every occurrence of its start, and each try runs to the end of the line: ' +
  'bound the repetition to the real length of the field (`[^)]{1,64}` instead of `[^)]+`), or stop it at the next occurrence of the start ' +
  '(`A(?:(?!A)[^\\n])*B` instead of `A[^\\n]*B`)';
const HINT_LEADING_RUN =
  'a leading repetition is tried from every character of a long run: anchor it on what precedes the run, ' +
  'e.g. `(?<!\\d)\\d+: x` instead of `\\d+: x`, or `\\b\\w+` instead of `\\w+`';
const HINT_NESTED =
  'the text can be split between the repetitions in many ways: make them unambiguous, e.g. `(a+)+` -> `a+`, ' +
  '`(\\w+\\s?)+` -> `[\\w\\s]+`, `(a|ab)*` -> `(ab?)*`, `\\d+\\d+` -> `\\d{2,}`, `.*x.*` -> `[^x]*x.*`';
const HINT_LOOKBEHIND =
  'an unbounded lookbehind scans back to the start of the line at every match attempt: bound it (`(?<!inotify.{0,64})`), ' +
  'or test the condition once from the start of the line';

const LOOKBEHIND_SHAPE = 'an unbounded lookbehind';

/** Shapes known to backtrack, found statically; they name the cause when the timing confirms it. */
function staticShapes(root: Node, charSet: CharSets): string[] {
  const shapes = new Set<string>();
  /** Characters that can start a match of the node (over-approximated). */
  const first = (node: Node): CharSet[] => {
    switch (node.type) {
      case 'char':
        return [charSet(node.source)];
      case 'seq': {
        const sets: CharSet[] = [];
        for (const item of node.items) {
          sets.push(...first(item));
          if (!nullable(item)) break;
        }
        return sets;
      }
      case 'alt':
        return node.branches.flatMap(first);
      case 'repeat':
        return first(node.body);
      default:
        return [];
    }
  };
  const overlap = (a: CharSet[], b: CharSet[]) => a.some((x) => b.some((y) => x.overlaps(y)));
  const unbounded = (node: Node): node is Extract<Node, { type: 'repeat' }> => node.type === 'repeat' && node.max > LARGE_BOUND;
  const containsUnbounded = (node: Node): boolean => {
    if (node.type === 'repeat') return node.max > LARGE_BOUND || containsUnbounded(node.body);
    if (node.type === 'seq') return node.items.some(containsUnbounded);
    return node.type === 'alt' && node.branches.some(containsUnbounded);
  };

  const visit = (node: Node, inLookbehind: boolean): void => {
    if (node.type === 'repeat') {
      if (unbounded(node) && containsUnbounded(node.body)) shapes.add('nested unbounded repetitions');
      if (unbounded(node) && node.body.type === 'alt') {
        const starts = node.body.branches.map(first);
        if (starts.some((a, i) => starts.some((b, j) => i < j && overlap(a, b)))) shapes.add('overlapping alternatives under a repetition');
      }
      if (inLookbehind && unbounded(node)) shapes.add(LOOKBEHIND_SHAPE);
      visit(node.body, inLookbehind);
    } else if (node.type === 'seq') {
      node.items.forEach((item, index) => {
        const next = node.items[index + 1];
        if (next && unbounded(item) && unbounded(next) && overlap(first(item.body), first(next.body))) {
          shapes.add('adjacent overlapping repetitions');
        }
        visit(item, inLookbehind);
      });
    } else if (node.type === 'alt') {
      for (const branch of node.branches) visit(branch, inLookbehind);
    } else if (node.type === 'look') {
      visit(node.body, inLookbehind || node.behind);
    }
  };
  visit(root, false);
  return [...shapes];
}

const nullable = (node: Node): boolean =>
  node.type === 'empty' ||
  node.type === 'look' ||
  (node.type === 'repeat' && (node.min === 0 || nullable(node.body))) ||
  (node.type === 'seq' && node.items.every(nullable)) ||
  (node.type === 'alt' && node.branches.some(nullable));

/** The worst cases of one pattern, built from its structure. */
function worstCases(root: Node, charSet: CharSets): WorstCase[] {
  const HOLE = '\u{E000}';
  /**
   * A short string the node matches; `hole` is replaced by a marker, `looks` keeps the bodies of
   * lookarounds (the text they look for, to make them refuse), `prefer` biases character choice.
   */
  const sample = (node: Node, options: { hole?: Node; looks?: boolean; prefer?: string } = {}): string => {
    if (node === options.hole) return HOLE;
    switch (node.type) {
      case 'char':
        return charSet(node.source).sample(options.prefer);
      case 'seq':
        return node.items.map((item) => sample(item, options)).join('');
      case 'alt': {
        const withHole = options.hole && node.branches.find((b) => sample(b, options).includes(HOLE));
        return sample(withHole ?? (node.branches[0] as Node), options);
      }
      case 'look':
        return options.looks || (options.hole && sample(node.body, options).includes(HOLE)) ? sample(node.body, options) : '';
      case 'repeat': {
        const body = sample(node.body, options);
        return body.includes(HOLE) ? body : body.repeat(Math.min(Math.max(node.min, 1), 64));
      }
      default:
        return '';
    }
  };
  const repeats: Extract<Node, { type: 'repeat' }>[] = [];
  const lookbehinds: Node[] = [];
  const collect = (node: Node): void => {
    if (node.type === 'repeat') {
      if (node.max > LARGE_BOUND) repeats.push(node);
      collect(node.body);
    } else if (node.type === 'seq') node.items.forEach(collect);
    else if (node.type === 'alt') node.branches.forEach(collect);
    else if (node.type === 'look') {
      if (node.behind && node.negative) lookbehinds.push(node.body);
      collect(node.body);
    } else if (node.type === 'char') charSet(node.source);
  };
  collect(root);

  /** A character none of the pattern's classes accept (when there is one): it makes every try fail. */
  const failing = ['\u0000', '\u0001', '!', '\n', '#'].find((c) => charSet.all().every((set) => !set.accepted.has(c))) ?? '\u0000';
  const fill = (head: string, unit: string, tail: string, length: number) =>
    head + unit.repeat(Math.max(1, Math.floor((length - head.length - tail.length) / Math.max(unit.length, 1)))) + tail;
  const show = (text: string) => JSON.stringify(text.length > 24 ? `${text.slice(0, 24)}…` : text);

  const cases: WorstCase[] = [];
  const whole = sample(root, { looks: true });
  const lookbehindText = lookbehinds.map((body) => sample(body)).join('');
  if (whole.length > 0) {
    cases.push({
      description: `${lookbehindText ? `${show(lookbehindText)} then ` : ''}${show(whole)} repeated`,
      hint: lookbehinds.length > 0 ? HINT_LOOKBEHIND : HINT_REPEATED_START,
      build: (length) => fill(lookbehindText, whole, failing, length),
    });
    if (whole.length > 1) {
      const partial = whole.slice(0, -1);
      cases.push({ description: `${show(partial)} repeated`, hint: HINT_REPEATED_START, build: (length) => fill('', partial, failing, length) });
    }
  }
  for (const repeat of repeats) {
    const [before = '', after = ''] = sample(root, { hole: repeat }).split(HOLE);
    // The pumped unit: what the repetition matches, also made of the characters around it (overlap).
    const units = new Set([sample(repeat.body), sample(repeat.body, { prefer: after.slice(0, 2) }), sample(repeat.body, { prefer: before.slice(-1) })]);
    for (const unit of units) {
      if (unit.length === 0) continue;
      cases.push({ description: `${show(unit)} repeated`, hint: HINT_LEADING_RUN, build: (length) => fill('', unit, failing, length) });
      if (before.length === 0) continue;
      cases.push(
        { description: `${show(before)} then ${show(unit)} repeated`, hint: HINT_NESTED, build: (length) => fill(before, unit, failing, length) },
        { description: `${show(before + unit)} repeated`, hint: HINT_REPEATED_START, build: (length) => fill('', before + unit, failing, length) },
      );
    }
  }
  return cases;
}

/** The time one case takes on one text, best of `runs` (the least disturbed by the rest of the machine). */
function timeTest(regex: RegExp, text: string, runs: number): number {
  let best = Infinity;
  for (let run = 0; run < runs; run += 1) {
    const start = performance.now();
    regex.test(text);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Runs `measure` in a context whose timeout interrupts a regex that never finishes. */
const guard = vm.createContext({});
const guarded = new vm.Script('measure()');
function withTimeout<T>(measure: () => T): T | 'timeout' {
  guard.measure = measure;
  try {
    return guarded.runInContext(guard, { timeout: TIMEOUT_MS }) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
    throw error;
  } finally {
    guard.measure = undefined;
  }
}

/**
 * Time on 16 KiB and its growth from 4 KiB, each side at its best of several runs. A growth past
 * the limit counts only when every attempt shows it: a busy machine can slow one side down (a
 * preemption or a GC pause in each of the large runs of one attempt), a super-linear pattern is
 * slow every time.
 */
function growthOf(regex: RegExp, worstCase: WorstCase): { ms: number; growth: number } {
  const small = worstCase.build(SMALL_LENGTH);
  const large = worstCase.build(WORST_CASE_LENGTH);
  let result = { ms: 0, growth: 0 };
  for (let attempt = 0; attempt < GROWTH_ATTEMPTS; attempt += 1) {
    const measured = withTimeout(() => [timeTest(regex, small, 5), timeTest(regex, large, 3)] as const);
    if (measured === 'timeout') return { ms: TIMEOUT_MS, growth: Infinity };
    const [smallMs, largeMs] = measured;
    result = { ms: largeMs, growth: largeMs / Math.max(smallMs, 0.001) };
    if (result.growth <= MAX_GROWTH) break;
  }
  return result;
}

/** The slowest worst case of a pattern, measured. */
export interface WorstCaseTiming {
  /** Milliseconds on 16 KiB of the slowest case (the timeout when it never finished). */
  ms: number;
  /** Time on 16 KiB over time on 4 KiB (about 4 when linear); NaN when under the floor (not measured), Infinity on timeout. */
  growth: number;
  /** How the slowest case was built. */
  description: string;
  /** How to fix the shape this case exercises. */
  hint: string;
}

/** Verdict of the check on one pattern. */
export interface LinearityVerdict {
  /** No worst case grew faster than linearly (or timed out). */
  linear: boolean;
  /** The slowest worst case, when there is one (patterns without repetitions have none to pump). */
  worst?: WorstCaseTiming;
  /** Shapes known to backtrack, found in the pattern's structure. */
  shapes: string[];
}

const verdicts = new Map<string, LinearityVerdict>();

/**
 * Checks that searching the pattern (as `RegExp.prototype.test` does) takes linear time on the
 * worst cases built from its structure. Verdicts are cached per source and flags.
 */
export function checkLinearity(source: string, flags = ''): LinearityVerdict {
  const key = `${flags}/${source}`;
  const cached = verdicts.get(key);
  if (cached) return cached;
  const root = new Parser(source).parse();
  const regex = new RegExp(source, flags);
  regex.test('warm up');
  regex.test('warm up');
  const sets = charSets(flags);
  const cases = worstCases(root, sets);
  // One guarded pass over every case (the guard costs more than a fast case); a timeout means one
  // of them never finishes, and each is then run alone to find it.
  const quick = withTimeout(() => cases.map((c) => timeTest(regex, c.build(WORST_CASE_LENGTH), 1)));
  const timings: WorstCaseTiming[] = [];
  for (const [index, worstCase] of cases.entries()) {
    const found = { description: worstCase.description, hint: worstCase.hint };
    const first = quick === 'timeout' ? withTimeout(() => timeTest(regex, worstCase.build(WORST_CASE_LENGTH), 1)) : (quick[index] as number);
    if (first === 'timeout') {
      timings.push({ ms: TIMEOUT_MS, growth: Infinity, ...found });
      break;
    }
    timings.push(first < FLOOR_MS ? { ms: first, growth: NaN, ...found } : { ...growthOf(regex, worstCase), ...found });
  }
  const superLinear = timings.filter((t) => t.growth > MAX_GROWTH);
  const slowestFirst = (a: WorstCaseTiming, b: WorstCaseTiming) => b.ms - a.ms;
  const worst = (superLinear.length > 0 ? superLinear : timings).sort(slowestFirst)[0];
  const verdict: LinearityVerdict = { linear: superLinear.length === 0, shapes: staticShapes(root, sets), ...(worst ? { worst } : {}) };
  verdicts.set(key, verdict);
  return verdict;
}

/** The reason a pattern fails the check, in words an author can act on. */
export function describeSuperLinear(verdict: LinearityVerdict): string {
  const worst = verdict.worst;
  if (!worst) return 'super-linear';
  const time = worst.growth === Infinity ? `did not finish in ${TIMEOUT_MS} ms` : `took ${worst.ms.toFixed(1)} ms, ${worst.growth.toFixed(0)}x its time on 4 KiB`;
  const shapes = verdict.shapes.length > 0 ? ` (${verdict.shapes.join(', ')})` : '';
  // A shape found in the structure names the cause better than the case that exposed it.
  const hint = verdict.shapes.includes(LOOKBEHIND_SHAPE) ? HINT_LOOKBEHIND : verdict.shapes.length > 0 ? HINT_NESTED : worst.hint;
  return `super-linear${shapes}: on 16 KiB of ${worst.description}, a search ${time}; ${hint}`;
}
