// The real-world corpus (test/corpus/*.jsonl): real lines as published, each with the KB entries
// it must classify as (none for a benign line), its true format and where it was published. Read
// through the same per-line classifier as `fineprint classify`, under auto and under the line's
// own format; the unit test asserts on the scores and the bench prints them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { KnowledgeBase } from '../../shared/kb/load.js';
import { LineFormat } from '../../shared/kb/schema.js';
import { PACKAGE_ROOT } from '../../shared/paths.js';
import { formatIssues } from '../../shared/zod-issues.js';
import { lineClassifier, type ClassifiedLine } from '../../services/cli/classify.js';

const CORPUS_DIR = join(PACKAGE_ROOT, 'test', 'corpus');

/** One corpus record, a JSON object on its own line. */
export const CorpusRecord = z
  .object({
    /** The line verbatim, as the host or tool printed it. */
    line: z.string().min(1),
    /** KB entry ids the line shows; empty for a benign line. */
    expect: z.array(z.string().min(1)),
    /** The line's true format (what `--source` would name). */
    format: LineFormat.exclude(['auto']),
    /** Where the line was published. */
    source: z.url(),
    note: z.string().optional(),
  })
  .strict();
export type CorpusRecord = z.infer<typeof CorpusRecord>;

/** A record and where it sits, for messages that name `file:line`. */
export interface CorpusLine extends CorpusRecord {
  at: string;
}

/** Reads every test/corpus/*.jsonl; invalid records are reported as `file:line: problem`, not loaded. */
export function loadCorpus(kb: KnowledgeBase, dir: string = CORPUS_DIR): { lines: CorpusLine[]; problems: string[] } {
  const lines: CorpusLine[] = [];
  const problems: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .forEach((text, index) => {
        if (text.trim() === '') return;
        const at = `${file}:${index + 1}`;
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch (error) {
          problems.push(`${at}: not JSON: ${(error as Error).message}`);
          return;
        }
        const result = CorpusRecord.safeParse(raw);
        if (!result.success) {
          problems.push(`${at}: ${formatIssues(result.error.issues, '(record)').join('; ')}`);
          return;
        }
        const unknown = result.data.expect.filter((id) => !kb.byId.has(id));
        if (unknown.length > 0) {
          problems.push(`${at}: expect names no KB entry: ${unknown.join(', ')}`);
          return;
        }
        lines.push({ ...result.data, at });
      });
  }
  return { lines, problems };
}

/** A corpus line classified differently from its expectation. */
export interface CorpusMiss {
  at: string;
  line: string;
  expected: string[];
  got: string[];
  format: ClassifiedLine['format'];
}

export interface CorpusScore {
  /** Lines with a non-empty `expect`. */
  positives: number;
  /** Positive lines whose expected ids were all found. */
  recalled: number;
  /** recalled / positives (1 when there are none). */
  recall: number;
  /** Lines with an empty `expect`. */
  benign: number;
  /** Benign lines given any id, plus positive lines given an id they do not expect. */
  falsePositives: number;
  /** Positive lines missing an expected id. */
  misses: CorpusMiss[];
  /** The false positives. */
  extras: CorpusMiss[];
}

/** Classifies every line, under `auto` or under each line's own format, and scores the result. */
export function scoreCorpus(kb: KnowledgeBase, lines: readonly CorpusLine[], mode: 'auto' | 'forced'): CorpusScore {
  const classifiers = new Map<LineFormat, ReturnType<typeof lineClassifier>>();
  const classifierFor = (format: LineFormat) => {
    let classify = classifiers.get(format);
    if (!classify) classifiers.set(format, (classify = lineClassifier(kb, { format })));
    return classify;
  };
  const score: CorpusScore = { positives: 0, recalled: 0, recall: 1, benign: 0, falsePositives: 0, misses: [], extras: [] };
  lines.forEach((record, index) => {
    const result = classifierFor(mode === 'auto' ? 'auto' : record.format)(record.line, index + 1);
    const miss: CorpusMiss = { at: record.at, line: record.line, expected: record.expect, got: result.kb, format: result.format };
    if (record.expect.length > 0) {
      score.positives += 1;
      if (record.expect.every((id) => result.kb.includes(id))) score.recalled += 1;
      else score.misses.push(miss);
    } else {
      score.benign += 1;
    }
    if (result.kb.some((id) => !record.expect.includes(id))) {
      score.falsePositives += 1;
      score.extras.push(miss);
    }
  });
  score.recall = score.positives === 0 ? 1 : score.recalled / score.positives;
  return score;
}
