import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FineprintError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { checkLinearity, describeSuperLinear, type LinearityVerdict } from '../regex-linearity.js';
import { formatIssues } from '../zod-issues.js';
import { KbEntry, severityRank, type Match } from './schema.js';

/** The knowledge base shipped with fineprint. */
export const DEFAULT_KB_DIR = join(PACKAGE_ROOT, 'kb');

export interface KnowledgeBase {
  readonly entries: readonly KbEntry[];
  readonly byId: ReadonlyMap<string, KbEntry>;
}

/** Parses and validates one KB file; the error names the file and every bad field. */
export function parseKbFile(file: string, text: string): KbEntry {
  const name = basename(file);
  let data: unknown;
  try {
    data = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new FineprintError('FP_KB_INVALID', `${name}: not valid ${extname(file).slice(1).toUpperCase()}: ${(error as Error).message}`, { file });
  }
  const result = KbEntry.safeParse(data);
  if (!result.success) {
    const problems = formatIssues(result.error.issues, '(entry)');
    throw new FineprintError('FP_KB_INVALID', `${name}: ${problems.join('; ')}`, { file, problems });
  }
  const expectedId = basename(file, extname(file));
  if (result.data.id !== expectedId) {
    throw new FineprintError('FP_KB_INVALID', `${name}: id: "${result.data.id}" must equal the file name "${expectedId}"`, { file });
  }
  return result.data;
}

/** One message regex of an entry: where it sits in the file, and the detector it belongs to. */
export interface DetectorPattern {
  /** The detector's id within its entry. */
  detectorId: string;
  /** Field path in the entry, e.g. `detectors.2.sequence.steps.1.message`. */
  path: string;
  /** The regex source, as written in the entry. */
  source: string;
  /** `i` when the match sets `ignoreCase`, else empty. */
  flags: string;
}

/** Every message regex of an entry's detectors. */
export function detectorPatterns(entry: KbEntry): DetectorPattern[] {
  return entry.detectors.flatMap((detector, index) => {
    const matches: [string, Match][] =
      'match' in detector
        ? [['match', detector.match]]
        : 'window' in detector
          ? [['window.match', detector.window.match]]
          : detector.sequence.steps.map((step, s): [string, Match] => [`sequence.steps.${s}`, step]);
    return matches.flatMap(([where, match]) =>
      match.message === undefined
        ? []
        : [{ detectorId: detector.id, path: `detectors.${index}.${where}.message`, source: match.message, flags: match.ignoreCase === true ? 'i' : '' }],
    );
  });
}

/**
 * Fails when a detector's regex takes super-linear time on a worst case built from it: detectors
 * run on every log line a container prints, and one hostile line must not stall the classifier.
 */
function assertLinear(file: string, entry: KbEntry): void {
  for (const pattern of detectorPatterns(entry)) {
    const where = `${basename(file)}: ${pattern.path}: detector "${pattern.detectorId}" of entry "${entry.id}"`;
    let verdict: LinearityVerdict;
    try {
      verdict = checkLinearity(pattern.source, pattern.flags);
    } catch (error) {
      throw new FineprintError('FP_KB_INVALID', `${where}: the linearity check cannot read the regular expression: ${(error as Error).message}`, { file, detector: pattern.detectorId });
    }
    if (verdict.linear) continue;
    throw new FineprintError('FP_KB_INVALID', `${where}: the regular expression is ${describeSuperLinear(verdict)}`, { file, detector: pattern.detectorId });
  }
}

/** Loads every `*.yaml`, `*.yml` and `*.json` entry of a directory, failing on the first bad one. */
export function loadKnowledgeBase(dir: string = DEFAULT_KB_DIR): KnowledgeBase {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  } catch (error) {
    throw new FineprintError('FP_KB_INVALID', `cannot read the knowledge base directory ${dir}: ${(error as Error).message}`);
  }
  if (files.length === 0) throw new FineprintError('FP_KB_INVALID', `no KB entries (*.yaml, *.json) in ${dir}`);
  const byId = new Map<string, KbEntry>();
  for (const file of files) {
    const entry = parseKbFile(file, readFileSync(join(dir, file), 'utf8'));
    assertLinear(file, entry);
    if (byId.has(entry.id)) throw new FineprintError('FP_KB_INVALID', `${file}: id: duplicate id "${entry.id}"`);
    byId.set(entry.id, entry);
  }
  for (const entry of byId.values()) {
    for (const [index, other] of (entry.foreseenBy ?? []).entries()) {
      if (!byId.has(other)) throw new FineprintError('FP_KB_INVALID', `${entry.id}.yaml: foreseenBy.${index}: unknown entry "${other}"`);
    }
    for (const [index, other] of (entry.supersedes ?? []).entries()) {
      if (!byId.has(other)) {
        throw new FineprintError('FP_KB_INVALID', `${entry.id}.yaml: supersedes.${index}: unknown entry "${other}"`);
      }
    }
    assertConsequenceOf(entry, byId);
    if (entry.warningOf !== undefined) {
      const failure = byId.get(entry.warningOf);
      if (!failure) throw new FineprintError('FP_KB_INVALID', `${entry.id}.yaml: warningOf: unknown entry "${entry.warningOf}"`);
      if (severityRank(failure.severity) <= severityRank(entry.severity)) {
        throw new FineprintError('FP_KB_INVALID', `${entry.id}.yaml: warningOf: "${failure.id}" is not more severe than this warning (${failure.severity} vs ${entry.severity})`);
      }
    }
  }
  return { entries: [...byId.values()], byId };
}

/**
 * An entry's `consequenceOf` names other known entries, none that it supersedes or that supersedes
 * it (those merge into one incident instead), and never leads back to itself: which of two linked
 * incidents is the cause must be decided by the KB.
 */
function assertConsequenceOf(entry: KbEntry, byId: ReadonlyMap<string, KbEntry>): void {
  for (const [index, causeId] of (entry.consequenceOf ?? []).entries()) {
    const where = `${entry.id}.yaml: consequenceOf.${index}`;
    const cause = byId.get(causeId);
    if (!cause) throw new FineprintError('FP_KB_INVALID', `${where}: unknown entry "${causeId}"`);
    if (cause.supersedes?.includes(entry.id) || entry.supersedes?.includes(causeId)) {
      throw new FineprintError('FP_KB_INVALID', `${where}: "${causeId}" and "${entry.id}" supersede one another: their occurrences are one incident, not a cause and its consequence`);
    }
    const path = [entry.id, causeId];
    const seen = new Set(path);
    const visit = (id: string): void => {
      for (const next of byId.get(id)?.consequenceOf ?? []) {
        if (next === entry.id) throw new FineprintError('FP_KB_INVALID', `${where}: consequenceOf leads back to "${entry.id}" (${[...path, next].join(' -> ')})`);
        if (seen.has(next)) continue;
        seen.add(next);
        path.push(next);
        visit(next);
        path.pop();
      }
    };
    visit(causeId);
  }
}
