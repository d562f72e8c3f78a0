/**
 * The KB's literal prefilter: every required literal of the detectors' regexes (see literals.ts),
 * found in one pass over a message. The classifier runs a regex only when one of its literals
 * occurs; the collector forwards a container's log line only when some log detector can match it.
 * Neither needs the rest of the compiled KB.
 */
import type { EventKind } from '../event.js';
import type { KnowledgeBase } from './load.js';
import { requiredLiterals } from './literals.js';
import { detectorMatches } from './schema.js';

/**
 * Matching folds ASCII case for every literal: a case-sensitive literal may then be reported where
 * only its other-case spelling occurs, which costs one regex run and never a missed match (the
 * detector's regex decides). Characters outside ASCII share one symbol, for the same reason.
 */
const OTHER = 128;
/** symbolOf for ASCII, as a table: one load instead of two comparisons in the hot loop. */
const ASCII_SYMBOL = Uint8Array.from({ length: 128 }, (_, code) => (code >= 65 && code <= 90 ? code + 32 : code));
const symbolOf = (code: number): number => (code < 128 ? (ASCII_SYMBOL[code] as number) : OTHER);

/** Characters hashed at each step of the scan (fewer when the shortest literal is shorter). */
const BLOCK = 3;
/** Size of the shift table: 32 KiB, it stays in the first-level cache. */
const HASH_MASK = 0x7fff;
const hashOf = (a: number, b: number, c: number): number => (a * 1031 + b * 33 + c) & HASH_MASK;
/**
 * What the shift table hashes of a character: ASCII with bit 5 set, which folds case without a table
 * load (and merges a few punctuation pairs, `@` and `` ` ``, `[` and `{`: a smaller shift, never a
 * miss), or OTHER. Equal for a character and its symbol.
 */
const hashSymbol = (code: number): number => (code < 128 ? code | 0x20 : OTHER);

/**
 * Finds which of a set of literals occur in a text (Wu-Manber): a window as long as the shortest
 * literal slides over the text; the hash of the window's last three characters says how far it can
 * jump without passing the end of an occurrence's first window-length characters. Benign text jumps
 * most of a window at a time, so a message costs a fraction of a table lookup per character; only
 * where the shift is zero is the window's start checked against a trie of the literals.
 */
export class LiteralScanner {
  /** Shortest literal: the window length. */
  private readonly window: number;
  /** Characters hashed at each step: min(BLOCK, window). */
  private readonly block: number;
  /** Safe jump of the window's end for each hash of its last `block` characters. */
  private readonly shift: Uint8Array;
  /** Trie symbol class of each automaton symbol (0: no literal has it). */
  private readonly classOf: Uint8Array;
  /** Trie transitions, state * classes + class, holding the next state already multiplied (0: none). */
  private readonly trie: Int32Array;
  private readonly classes: number;
  /** Literals that end at each state (by state number), if any. */
  private readonly outputs: (readonly number[] | undefined)[];
  /** Scan number at which each literal was last found (a float: never wraps). */
  private readonly seen: Float64Array;
  private readonly found: Int32Array;
  private epoch = 0;

  /** @param literals the literals to find, of one character or more; a literal's index is its id in `scan` results. */
  constructor(literals: readonly string[]) {
    if (literals.some((literal) => literal.length === 0)) throw new Error('LiteralScanner: an empty literal matches everywhere');
    const symbols = literals.map((literal) => Array.from({ length: literal.length }, (_, i) => symbolOf(literal.charCodeAt(i))));
    this.window = literals.length === 0 ? Infinity : Math.min(...literals.map((literal) => literal.length));
    this.block = Math.min(BLOCK, literals.length === 0 ? BLOCK : this.window);

    this.classOf = new Uint8Array(OTHER + 1);
    let classes = 1;
    for (const word of symbols) for (const s of word) if (this.classOf[s] === 0) this.classOf[s] = classes++;
    this.classes = classes;

    // The trie, one row of `classes` transitions per state, grown as literals add states.
    let trie = new Int32Array(64 * classes);
    let states = 1;
    const outputs: (number[] | undefined)[] = [undefined];
    symbols.forEach((word, id) => {
      let row = 0;
      for (const s of word) {
        const at = row + (this.classOf[s] as number);
        if (trie[at] === 0) {
          if ((states + 1) * classes > trie.length) {
            const grown = new Int32Array(trie.length * 2);
            grown.set(trie);
            trie = grown;
          }
          trie[at] = states * classes;
          states += 1;
          outputs.push(undefined);
        }
        row = trie[at] as number;
      }
      (outputs[row / classes] ??= []).push(id);
    });
    this.trie = trie.slice(0, states * classes);
    this.outputs = outputs;

    const longest = Number.isFinite(this.window) ? this.window - this.block + 1 : 1;
    this.shift = new Uint8Array(HASH_MASK + 1).fill(Math.min(255, longest));
    for (const word of symbols) {
      // Each block of the literal's first `window` characters, ending at j: the window's end is
      // window - 1 - j characters before the end of that prefix.
      for (let j = this.block - 1; j < this.window; j += 1) {
        const h = this.hashEndingAt(word, j);
        this.shift[h] = Math.min(this.shift[h] as number, this.window - 1 - j);
      }
    }
    this.seen = new Float64Array(literals.length);
    this.found = new Int32Array(literals.length);
  }

  private hashEndingAt(word: readonly number[], end: number): number {
    const b = this.block;
    const c = hashSymbol(word[end] as number);
    const bb = b >= 2 ? hashSymbol(word[end - 1] as number) : 0;
    const a = b >= 3 ? hashSymbol(word[end - 2] as number) : 0;
    return hashOf(a, bb, c);
  }

  /**
   * Scans `text` and returns how many distinct literals occur in it; their ids are `foundAt(0)`
   * to `foundAt(count - 1)`, valid until the next scan (no allocation per scan).
   */
  scan(text: string): number {
    const { window, block, shift } = this;
    const n = text.length;
    this.epoch += 1;
    if (n < window) return 0;
    let count = 0;
    for (let end = window - 1; end < n; ) {
      const c = hashSymbol(text.charCodeAt(end));
      const b = block >= 2 ? hashSymbol(text.charCodeAt(end - 1)) : 0;
      const a = block >= 3 ? hashSymbol(text.charCodeAt(end - 2)) : 0;
      const jump = shift[hashOf(a, b, c)] as number;
      if (jump > 0) {
        end += jump;
        continue;
      }
      count = this.verify(text, end - window + 1, count);
      end += 1;
    }
    return count;
  }

  /** Walks the trie from `start`, recording each literal that begins there; returns the new count. */
  private verify(text: string, start: number, count: number): number {
    const { trie, classOf, classes, outputs, seen, found, epoch } = this;
    let state = 0;
    for (let i = start; i < text.length; i += 1) {
      const k = classOf[symbolOf(text.charCodeAt(i))] as number;
      if (k === 0) break;
      state = trie[state + k] as number;
      if (state === 0) break;
      const out = outputs[state / classes];
      if (out === undefined) continue;
      for (const id of out) {
        if (seen[id] === epoch) continue;
        seen[id] = epoch;
        found[count] = id;
        count += 1;
      }
    }
    return count;
  }

  /** The id of the `index`-th literal found by the last scan. */
  foundAt(index: number): number {
    return this.found[index] as number;
  }
}

/** The kinds a match applies to (all of them when it names none). */
export const kindsOf = (kind: EventKind | EventKind[] | undefined): readonly EventKind[] =>
  kind === undefined ? ALL_KINDS : Array.isArray(kind) ? kind : [kind];
const ALL_KINDS: readonly EventKind[] = ['docker', 'kernel', 'log', 'probe'];

/**
 * Items (predicates, regexes) behind the literals one of which a message must contain for them to
 * hold: one scan of the message finds the literals, each opens its items; items without a useful
 * literal are always open.
 */
export class LiteralGate<T> {
  /** The literals of the gated items; a literal's id indexes `gatedBy`. */
  readonly scanner: LiteralScanner;
  /** The items each literal opens. */
  readonly gatedBy: readonly (readonly T[])[];
  /** The items no literal gates, in the order given. */
  readonly ungated: readonly T[];

  /** @param items each item and its literals (undefined: always open), in the order to keep. */
  constructor(items: Iterable<{ item: T; literals: readonly string[] | undefined }>) {
    const ids = new Map<string, number>();
    const gatedBy: T[][] = [];
    const ungated: T[] = [];
    for (const { item, literals } of items) {
      if (!literals) {
        ungated.push(item);
        continue;
      }
      for (const literal of literals) {
        let id = ids.get(literal);
        if (id === undefined) ids.set(literal, (id = ids.size));
        (gatedBy[id] ??= []).push(item);
      }
    }
    this.scanner = new LiteralScanner([...ids.keys()]);
    this.gatedBy = gatedBy;
    this.ungated = ungated;
  }
}

/** A log detector's regex as plain data (it crosses a worker boundary), with its required literals. */
export interface LogLinePattern {
  /** The regex source. */
  source: string;
  ignoreCase: boolean;
  /** Literals one of which every match contains; undefined: none useful, the regex always runs. */
  literals: string[] | undefined;
}

/** The regexes of the KB's detectors that can match a container log line. */
export function logLinePatterns(kb: KnowledgeBase): LogLinePattern[] {
  const patterns: LogLinePattern[] = [];
  for (const entry of kb.entries) {
    for (const detector of entry.detectors) {
      for (const match of detectorMatches(detector)) {
        if (match.message === undefined || !kindsOf(match.kind).includes('log')) continue;
        const ignoreCase = match.ignoreCase === true;
        patterns.push({ source: match.message, ignoreCase, literals: requiredLiterals(match.message, ignoreCase) });
      }
    }
  }
  return patterns;
}

/**
 * True for a container log line that some log detector of the KB can match: the collector forwards
 * only these. The line's literals open the regexes worth running (a regex without a useful literal
 * always runs); the regex decides, so nothing a detector matches is ever dropped.
 */
export function logLineFilter(kb: KnowledgeBase): (message: string) => boolean {
  return logLineFilterOf(logLinePatterns(kb));
}

/** logLineFilter from patterns already extracted (logLinePatterns). */
export function logLineFilterOf(patterns: readonly LogLinePattern[]): (message: string) => boolean {
  const regexes = patterns.map(({ source, ignoreCase, literals }) => ({ item: new RegExp(source, ignoreCase ? 'i' : ''), literals }));
  const { scanner, gatedBy, ungated } = new LiteralGate(regexes);
  return (message) => {
    const found = scanner.scan(message);
    for (let f = 0; f < found; f += 1) {
      for (const regex of gatedBy[scanner.foundAt(f)] as RegExp[]) if (regex.test(message)) return true;
    }
    for (const regex of ungated) if (regex.test(message)) return true;
    return false;
  };
}
