import { FineprintError } from '../errors.js';

/** At most this many distinct words of `q` are searched for; more is a 400 (FP_QUERY_TOO_COMPLEX). */
export const MAX_SEARCH_TERMS = 16;
/** Shorter words of `q` are left out: as a prefix they match nearly everything, and cost the most. */
export const MIN_TERM_LENGTH = 2;
/**
 * How long one search or facets query may take (ms) before it answers 503 FP_QUERY_TIMEOUT. The
 * terms' limits keep the full-text part bounded; this bounds what a query does with its matches.
 */
export const QUERY_BUDGET_MS = 5000;

/** Options of both stores' queries. */
export interface QueryBudgetOptions {
  /** How long one search or facets query may take (ms); default QUERY_BUDGET_MS. */
  queryBudgetMs?: number;
}

/**
 * The words of a text as search sees them: runs of letters, digits and `_`, case and diacritics
 * folded. These are the tokens of SQLite FTS5's unicode61 tokenizer, so every store splits alike.
 */
export function words(text: string): string[] {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
}

/**
 * The words of a free-text query that both stores search for, each as a prefix: folded,
 * de-duplicated, those shorter than MIN_TERM_LENGTH left out. More than MAX_SEARCH_TERMS of them
 * is refused rather than cut, since leaving out a word would widen the results without saying so.
 */
export function searchTerms(q: string | undefined): string[] {
  if (!q) return [];
  const terms = [...new Set(words(q))].filter((w) => [...w].length >= MIN_TERM_LENGTH);
  if (terms.length > MAX_SEARCH_TERMS) {
    throw new FineprintError('FP_QUERY_TOO_COMPLEX', `q: at most ${MAX_SEARCH_TERMS} distinct words of ${MIN_TERM_LENGTH} or more characters (this one has ${terms.length}); narrow it with fewer words or with the filters`, {
      terms: terms.length,
      maxTerms: MAX_SEARCH_TERMS,
    });
  }
  return terms;
}

/** Refused when a query runs past its budget: the caller hears why and what to change. */
export function queryTimeout(what: string, budgetMs: number): FineprintError {
  return new FineprintError('FP_QUERY_TIMEOUT', `${what} took longer than ${budgetMs} ms: narrow it with filters (kb, host, since, until) or more specific words`);
}
