// Real lines as people paste them (test/corpus/*.jsonl), through the same per-line classifier as
// `fineprint classify`: under auto-detection and under each line's own format.
import { describe, expect, it } from 'vitest';
import { loadKnowledgeBase } from '../../shared/kb/load.js';
import { loadCorpus, scoreCorpus, type CorpusMiss, type CorpusScore } from '../support/corpus.js';

/** Share of positive lines whose expected entries are all found under auto-detection. */
const MIN_AUTO_RECALL = 0.9;

const kb = loadKnowledgeBase();
const { lines, problems } = loadCorpus(kb);
const show = (m: CorpusMiss) => `  ${m.at} [${m.format}] expected [${m.expected.join(', ')}] got [${m.got.join(', ')}]: ${m.line.slice(0, 160)}`;

function report(mode: string, score: CorpusScore): void {
  console.log(
    `corpus (${mode}): ${lines.length} lines, recall ${score.recalled}/${score.positives} = ${(score.recall * 100).toFixed(1)}%, ` +
      `false positives ${score.falsePositives} (of ${score.benign} benign lines and ${score.positives} positive)`,
  );
  if (score.misses.length > 0) console.log(`missed:\n${score.misses.map(show).join('\n')}`);
  if (score.extras.length > 0) console.log(`false positives:\n${score.extras.map(show).join('\n')}`);
}

describe('real-world corpus', () => {
  it('every record is valid (file:line for each that is not)', () => {
    expect(problems).toEqual([]);
    expect(lines.length).toBeGreaterThan(0);
  });

  describe('auto-detected formats', () => {
    const score = scoreCorpus(kb, lines, 'auto');
    report('auto', score);
    it('no false positives', () => {
      expect(score.extras.map(show)).toEqual([]);
    });
    it(`recall of at least ${MIN_AUTO_RECALL * 100}%`, () => {
      expect(score.recall, score.misses.map(show).join('\n')).toBeGreaterThanOrEqual(MIN_AUTO_RECALL);
    });
  });

  describe("each line's own format, forced", () => {
    const score = scoreCorpus(kb, lines, 'forced');
    report('forced', score);
    it('no false positives', () => {
      expect(score.extras.map(show)).toEqual([]);
    });
  });
});
