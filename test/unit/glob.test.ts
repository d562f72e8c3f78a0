import { describe, expect, it } from 'vitest';
import { compileGlob, globMatches } from '../../shared/glob.js';
import { silenceMatches } from '../../shared/silence.js';
import { compileRoutes, Route } from '../../services/api/notify/config.js';

/** The meaning of a glob, spelled as the obvious (backtracking) regular expression: the reference on small inputs. */
function reference(glob: string, subject: string): boolean {
  const source = [...glob].map((c) => (c === '*' ? '[^]*' : c === '?' ? '[^]' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 'iu').test(subject);
}

/** mulberry32: seeded, so a failing case can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('globs', () => {
  it('match like names people write: star, question mark, literal, case-insensitive', () => {
    expect(globMatches('jvm-*', 'jvm-heap-oom')).toBe(true);
    expect(globMatches('jvm-*', 'oom-kill')).toBe(false);
    expect(globMatches('web-?', 'WEB-1')).toBe(true);
    expect(globMatches('web-?', 'web-12')).toBe(false);
    expect(globMatches('*', '')).toBe(true);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('db-*-primary', 'db-eu-west-primary')).toBe(true);
    expect(globMatches('*-primary*', 'db-primary')).toBe(true);
    expect(globMatches('ab*ba', 'aba')).toBe(false);
    expect(globMatches('a*a*a', 'aaa')).toBe(true);
    expect(globMatches('a*a*a', 'aa')).toBe(false);
  });

  it('agree with the regular expression they stand for on thousands of random small cases', () => {
    const next = random(11);
    const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    for (let n = 0; n < 5000; n += 1) {
      const glob = pick('ab*?A', Math.floor(next() * 8));
      const subject = pick('abB', Math.floor(next() * 10));
      expect(globMatches(glob, subject), `${glob} ~ ${subject}`).toBe(reference(glob, subject));
    }
  });

  // Each of these froze the process for tens of seconds (or for ever) as a regular expression:
  // `^.*e.*e.*...!$` backtracks through every way of splitting the subject among the stars.
  const KiB16 = 16 * 1024;
  const adversarial: [string, string, string][] = [
    ['stars between one letter, then a letter the subject lacks', `${'*e'.repeat(KiB16 / 2 - 1)}*!`, 'e'.repeat(KiB16)],
    ['question marks between stars', `${'*?'.repeat(KiB16 / 2 - 1)}*!`, 'x'.repeat(KiB16)],
    ['a long segment that almost matches everywhere', `*${'a'.repeat(KiB16 / 2)}b${'*'.repeat(KiB16 / 2 - 1)}`, 'a'.repeat(KiB16)],
    ['question marks in a long segment', `*${'a?'.repeat(KiB16 / 4)}b${'*'.repeat(KiB16 / 2 - 1)}`, 'a'.repeat(KiB16)],
  ];
  for (const [what, glob, subject] of adversarial) {
    it(`finish on 16 KiB adversarial inputs: ${what}`, () => {
      expect(glob.length).toBeGreaterThanOrEqual(KiB16 - 2);
      expect(globMatches(glob, subject)).toBe(false);
      // The same glob matches once the subject has what it asks for.
      expect(globMatches(glob, `${subject}!`) || globMatches(glob, `${subject}b`)).toBe(true);
    });
  }

  it('silences and notification routes match with them', () => {
    const incident = { kbId: 'jvm-heap-oom', host: 'web-01', container: { id: 'c', name: 'api-7', image: 'x' }, compose: null };
    expect(silenceMatches({ kb: 'JVM-*', host: 'web-??' }, incident)).toBe(true);
    expect(silenceMatches({ container: '*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*e*!' }, { ...incident, container: { ...incident.container, name: 'e'.repeat(4096) } })).toBe(false);
    const [route] = compileRoutes([Route.parse({ receivers: ['ops'], kb: 'jvm-*', host: '*-01' })]);
    expect(route?.matches({ ...incident, severity: 'critical' }, [])).toBe(true);
    expect(route?.matches({ ...incident, host: 'web-02', severity: 'critical' }, [])).toBe(false);
  });

  it('compile once and match many subjects', () => {
    const matcher = compileGlob('svc-*');
    expect(['svc-1', 'SVC-2', 'db-1'].map(matcher)).toEqual([true, true, false]);
  });
});
