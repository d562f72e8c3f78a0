// The redactor on real secret shapes and look-alikes, on texts cut through a secret, and on hostile
// lines built to make a backtracking matcher take minutes (the redactor has none: it must stay
// linear). Its speed is measured by `npm run bench -- --only redact`; the bounds here only tell
// linear from super-linear, by orders of magnitude.
import { describe, expect, it } from 'vitest';
import { redactValues } from '../../services/collector/facts.js';
import { cutText, isSecretName, KEY_PREFIXES, MAX_ARGUMENT, MAX_REDACTED_TEXT, REDACTED, redactArgs, redactEnv, redactText } from '../../shared/redact.js';
import { HOSTILE_LINES, LOOK_ALIKES, SECRET_CASES } from '../support/secret-shapes.js';

describe('secret shapes', () => {
  it('the table is large enough to mean something', () => {
    expect(SECRET_CASES.length).toBeGreaterThanOrEqual(50);
    expect(LOOK_ALIKES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(SECRET_CASES)('$text', ({ text, secret }) => {
    const out = redactText(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it.each(LOOK_ALIKES)('look-alike unchanged: %s', (text) => {
    expect(redactText(text)).toBe(text);
  });

  it('keeps what says which secret it was', () => {
    expect(redactText('Authorization: Bearer abcdef0123456789')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactText('{"password": "two words", "user": "bob"}')).toBe(`{"password": "${REDACTED}", "user": "bob"}`);
    expect(redactText('pg (postgres://app:pw@db:5432/app)')).toBe(`pg (postgres://app:${REDACTED}@db:5432/app)`);
    expect(redactText('mysql -uroot -phunter2 app')).toBe(`mysql -uroot -p${REDACTED} app`);
    expect(redactText('--password=x --user=bob')).toBe(`--password=${REDACTED} --user=bob`);
  });
});

describe('command lines', () => {
  it('hides the argument after a secret flag written on its own', () => {
    expect(redactArgs(['app', '--password', 'hunter2', '--user', 'bob'])).toEqual(['app', '--password', REDACTED, '--user', 'bob']);
    expect(redactArgs(['mysql', '-u', 'root', '-p', 'hunter2'])).toEqual(['mysql', '-u', 'root', '-p', REDACTED]);
    expect(redactArgs(['/usr/bin/mysql', '-phunter2'])).toEqual(['/usr/bin/mysql', `-p${REDACTED}`]);
    expect(redactArgs(['docker', 'login', '--password-stdin'])).toEqual(['docker', 'login', '--password-stdin']);
  });

  it('keeps env names, never values', () => {
    expect(redactEnv(['A=1', 'PATH=/bin', 'NOVALUE'])).toEqual([`A=${REDACTED}`, `PATH=${REDACTED}`, 'NOVALUE']);
  });

  it('cuts each argument before looking at it', () => {
    const [out] = redactArgs([`--opt=${'x'.repeat(5 * MAX_ARGUMENT)}`]);
    expect(out?.length).toBe(MAX_ARGUMENT);
  });
});

describe('labels, log options and event attributes', () => {
  it('a secret-named key drops its value whole; any other value is redacted as text', () => {
    expect(isSecretName('db.password')).toBe(true);
    expect(isSecretName('splunk-token')).toBe(true);
    expect(isSecretName('traefik.http.middlewares.auth.basicauth.users')).toBe(true);
    expect(isSecretName('vault.example.com/agent-token')).toBe(true);
    expect(isSecretName('password_policy')).toBe(false);
    expect(isSecretName('com.docker.compose.config-hash')).toBe(false);
    expect(redactValues({ 'db.password': 'two words', note: 'password: x', 'com.docker.compose.service': 'web' })).toEqual({
      'db.password': REDACTED,
      note: `password: ${REDACTED}`,
      'com.docker.compose.service': 'web',
    });
  });

  it('megabyte keys and values are cut before they are looked at', () => {
    const [[key, value]] = Object.entries(redactValues({ ['k'.repeat(1024 * 1024)]: 'v'.repeat(1024 * 1024) })) as [[string, string]];
    expect(key.length).toBeLessThanOrEqual(256);
    expect(value.length).toBeLessThanOrEqual(4096);
  });
});

describe('a cut through a secret leaves no part of it', () => {
  // Every secret of the table, cut at every point inside it: what is left of the secret is gone,
  // but for a piece that tells nothing: up to 4 characters, part of a key format's fixed prefix
  // (`sk_li`), or text found elsewhere in the line (`apiKe` of `"apiKey":"apiKeyValue"`).
  it.each(SECRET_CASES)('$text', ({ text, secret }) => {
    const at = text.indexOf(secret);
    const elsewhere = text.slice(0, at) + text.slice(at + secret.length);
    for (let end = at + 1; end < at + secret.length; end += 1) {
      const kept = secret.slice(0, end - at);
      if (kept.length <= 4 || elsewhere.includes(kept) || KEY_PREFIXES.some((prefix) => prefix.startsWith(kept))) continue;
      expect(redactText(text, end), `cut after ${end} characters`).not.toContain(kept);
    }
  });

  it('the output is never longer than the limit', () => {
    const text = 'a=1 password=x '.repeat(2000);
    expect(redactText(text).length).toBeLessThanOrEqual(MAX_REDACTED_TEXT);
    expect(redactText(text, 100).length).toBeLessThanOrEqual(100);
  });

  it('a cut never splits a surrogate pair', () => {
    expect(cutText('ab😀', 3)).toBe('ab');
    expect(cutText('ab😀', 4)).toBe('ab😀');
  });
});

describe('hostile lines', () => {
  const KiB = 1024;
  /** Milliseconds one redaction of `line`, uncut, takes. */
  const timed = (line: string) => {
    const started = performance.now();
    redactText(line, Infinity);
    return performance.now() - started;
  };

  // Linear work takes well under a millisecond on 16 KiB and tens of milliseconds on 256 KiB; the
  // regex redactor this one replaced took minutes on 16 KiB of `password`, and a quadratic scan of
  // 256 KiB is ~10^10 steps: the bounds are orders of magnitude from both.
  it.each(Object.entries(HOSTILE_LINES))('%s: 16 KiB and 256 KiB are redacted in linear time', (_name, make) => {
    expect(timed(make(16 * KiB)), '16 KiB').toBeLessThan(1000);
    expect(timed(make(256 * KiB)), '256 KiB').toBeLessThan(5000);
  }, 30_000);

  it('a line of any length is cut before it is scanned', () => {
    const out = redactText(HOSTILE_LINES['"password" repeated']?.(8 * 1024 * KiB) ?? '');
    expect(out.length).toBeLessThanOrEqual(MAX_REDACTED_TEXT);
  });
});
