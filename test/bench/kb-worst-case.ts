// Worst-case time of each KB detector's regex on one 16 KiB line built to make it backtrack (see
// shared/regex-linearity.ts), against one linear scan of a line of the same length. The entries are
// read with the schema alone, so a KB the loader would refuse as super-linear is measured too.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_KB_DIR, detectorPatterns, parseKbFile } from '../../shared/kb/load.js';
import { checkLinearity, WORST_CASE_LENGTH } from '../../shared/regex-linearity.js';

export interface DetectorWorstCase {
  /** `entry/detector`. */
  id: string;
  /** Milliseconds on the slowest 16 KiB case (the check's timeout when it never finished). */
  ms: number;
  /** Time on 16 KiB over time on 4 KiB; NaN when too fast to matter, Infinity when it never finished. */
  growth: number;
  linear: boolean;
  /** How the slowest case was built. */
  description: string;
}

export interface KbWorstCaseResult {
  /** Every detector regex, slowest first. */
  detectors: DetectorWorstCase[];
  /** Milliseconds of one linear scan of 16 KiB (a search for a character that is not there). */
  linearScanMs: number;
}

export function kbWorstCase(dir = DEFAULT_KB_DIR): KbWorstCaseResult {
  const detectors: DetectorWorstCase[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
    const entry = parseKbFile(file, readFileSync(join(dir, file), 'utf8'));
    for (const pattern of detectorPatterns(entry)) {
      const verdict = checkLinearity(pattern.source, pattern.flags);
      detectors.push({
        id: `${entry.id}/${pattern.detectorId}`,
        ms: verdict.worst?.ms ?? 0,
        growth: verdict.worst?.growth ?? NaN,
        linear: verdict.linear,
        description: verdict.worst?.description ?? 'no repetition to pump',
      });
    }
  }
  const line = 'a'.repeat(WORST_CASE_LENGTH);
  const absent = /b/;
  let linearScanMs = Infinity;
  for (let run = 0; run < 20; run += 1) {
    const start = performance.now();
    absent.test(line);
    linearScanMs = Math.min(linearScanMs, performance.now() - start);
  }
  return { detectors: detectors.sort((a, b) => b.ms - a.ms), linearScanMs };
}
