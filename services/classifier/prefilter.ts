/**
 * One automaton (Aho-Corasick, as a full transition table) for every required literal of the KB:
 * a message is scanned once, a table lookup per character, whatever the number of detectors.
 * Matching folds ASCII case for every literal: a case-sensitive literal may then be reported where
 * only its other-case spelling occurs, which costs one regex run and never a missed match (the
 * detector's regex decides). Characters outside ASCII share one symbol, for the same reason.
 */
const SYMBOLS = 129;
const OTHER = 128;

/** The automaton's symbol of a UTF-16 code unit. */
const symbolOf = (code: number): number => (code >= 65 && code <= 90 ? code + 32 : code < 128 ? code : OTHER);
/** symbolOf for ASCII, as a table: the scan loop does one load instead of two comparisons. */
const ASCII_SYMBOL = Uint8Array.from({ length: 128 }, (_, code) => symbolOf(code));

export class LiteralScanner {
  /** Transitions, indexed by state * SYMBOLS + symbol, holding the next state already multiplied by SYMBOLS. */
  private readonly next: Int32Array;
  /** For each state, the literals that end there (its own and its failure chain's). */
  private readonly outputs: (readonly number[])[];
  /** 1 where `outputs` is not empty, indexed like `next` rows (state * SYMBOLS): the hot check. */
  private readonly accepting: Uint8Array;
  /** Scan number at which each literal was last found (a float: never wraps). */
  private readonly seen: Float64Array;
  private readonly found: Int32Array;
  private epoch = 0;

  /** @param literals the literals to find; a literal's index is its id in `scan` results. */
  constructor(literals: readonly string[]) {
    const trie: number[][] = [new Array<number>(SYMBOLS).fill(-1)];
    const own: number[][] = [[]];
    literals.forEach((literal, id) => {
      let state = 0;
      for (let i = 0; i < literal.length; i += 1) {
        const symbol = symbolOf(literal.charCodeAt(i));
        const row = trie[state] as number[];
        if (row[symbol] === -1) {
          row[symbol] = trie.length;
          trie.push(new Array<number>(SYMBOLS).fill(-1));
          own.push([]);
        }
        state = row[symbol] as number;
      }
      (own[state] as number[]).push(id);
    });

    // Breadth-first: a state's failure link and its missing transitions come from shallower states.
    this.next = new Int32Array(trie.length * SYMBOLS);
    this.outputs = new Array<number[]>(trie.length);
    const fail = new Int32Array(trie.length);
    const queue: number[] = [];
    this.outputs[0] = own[0] as number[];
    for (let s = 0; s < SYMBOLS; s += 1) {
      const child = (trie[0] as number[])[s] as number;
      this.next[s] = child === -1 ? 0 : child;
      if (child !== -1) queue.push(child);
    }
    for (let head = 0; head < queue.length; head += 1) {
      const state = queue[head] as number;
      this.outputs[state] = [...(own[state] as number[]), ...(this.outputs[fail[state] as number] as number[])];
      for (let s = 0; s < SYMBOLS; s += 1) {
        const child = (trie[state] as number[])[s] as number;
        const fallback = this.next[(fail[state] as number) * SYMBOLS + s] as number;
        if (child === -1) {
          this.next[state * SYMBOLS + s] = fallback;
        } else {
          fail[child] = fallback;
          this.next[state * SYMBOLS + s] = child;
          queue.push(child);
        }
      }
    }
    // Premultiplied: the scan then adds a symbol to a state without multiplying.
    for (let i = 0; i < this.next.length; i += 1) this.next[i] = (this.next[i] as number) * SYMBOLS;
    this.accepting = new Uint8Array(trie.length * SYMBOLS);
    this.outputs.forEach((out, state) => {
      if (out.length > 0) this.accepting[state * SYMBOLS] = 1;
    });
    this.seen = new Float64Array(literals.length);
    this.found = new Int32Array(literals.length);
  }

  /**
   * Scans `text` and returns how many distinct literals occur in it; their ids are `foundAt(0)`
   * to `foundAt(count - 1)`, valid until the next scan (no allocation per scan).
   */
  scan(text: string): number {
    const { next, outputs, accepting, seen, found } = this;
    const epoch = (this.epoch += 1);
    let count = 0;
    let state = 0;
    for (let i = 0; i < text.length; i += 1) {
      const code = text.charCodeAt(i);
      state = next[state + (code < 128 ? (ASCII_SYMBOL[code] as number) : OTHER)] as number;
      if (accepting[state] === 0) continue;
      const out = outputs[state / SYMBOLS] as readonly number[];
      for (let k = 0; k < out.length; k += 1) {
        const id = out[k] as number;
        if (seen[id] !== epoch) {
          seen[id] = epoch;
          found[count] = id;
          count += 1;
        }
      }
    }
    return count;
  }

  /** The id of the `index`-th literal found by the last scan. */
  foundAt(index: number): number {
    return this.found[index] as number;
  }
}
