import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiToken } from './plugins/auth.js';

/**
 * Browser sessions: a token exchanged once (POST /api/v1/session) for a cookie every tab of that
 * browser sends. The cookie is sealed with a key derived from the token itself, so any API replica
 * that knows the token accepts it, and changing the token ends its sessions. A second, readable
 * cookie carries the CSRF value the page echoes in `x-fineprint-csrf` on writes.
 */

/** The HttpOnly cookie that authenticates a browser. */
export const SESSION_COOKIE = 'fineprint_session';
/** The cookie the page reads (not HttpOnly) and sends back as the CSRF header. */
export const CSRF_COOKIE = 'fineprint_csrf';
/** The header a cookie-authenticated write must carry, equal to the CSRF cookie. */
export const CSRF_HEADER = 'x-fineprint-csrf';
/** How long a session lasts; signing in again starts a new one. */
export const SESSION_TTL_MS = 7 * 86_400_000;

export interface Session {
  token: ApiToken;
  /** The value the CSRF header must carry. */
  csrf: string;
  expiresAt: number;
}

const b64 = (data: Buffer | string): string => Buffer.from(data).toString('base64url');
const keyOf = (token: ApiToken): Buffer => createHmac('sha256', token.token).update('fineprint session v1').digest();
const mac = (token: ApiToken, text: string): string => b64(createHmac('sha256', keyOf(token)).update(text).digest());

/** A new session for `token`: the cookie value and its CSRF value. */
export function openSession(token: ApiToken, now: number): Session & { cookie: string } {
  const expiresAt = now + SESSION_TTL_MS;
  const sealed = `${b64(token.name)}.${expiresAt.toString(36)}.${b64(randomBytes(16))}`;
  return { token, expiresAt, csrf: mac(token, `csrf.${sealed}`), cookie: `${sealed}.${mac(token, sealed)}` };
}

const equal = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The session a cookie value seals, if one of `tokens` sealed it and it has not expired. */
export function sessionOf(tokens: readonly ApiToken[], cookie: string, now: number): Session | undefined {
  const parts = cookie.split('.');
  if (parts.length !== 4) return undefined;
  const [name, expires, nonce, seal] = parts as [string, string, string, string];
  const sealed = `${name}.${expires}.${nonce}`;
  const expiresAt = parseInt(expires, 36);
  if (!(expiresAt > now)) return undefined;
  const holder = Buffer.from(name, 'base64url').toString();
  const token = tokens.find((t) => t.name === holder && equal(mac(t, sealed), seal));
  return token && { token, expiresAt, csrf: mac(token, `csrf.${sealed}`) };
}

/** Whether a CSRF header value is the session's. */
export const csrfMatches = (session: Session, header: string | undefined): boolean => header !== undefined && equal(session.csrf, header);

/** The cookies of a Cookie header by name (the first of a repeated name). */
export function cookiesOf(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(eq + 1).trim());
  }
  return cookies;
}

/** Set-Cookie values that start (`session`) or end (none) the browser's session. */
export function sessionCookies(session: Session & { cookie: string } | undefined, secure: boolean, now: number): string[] {
  const flags = `Path=/; SameSite=Strict${secure ? '; Secure' : ''}`;
  if (!session) return [`${SESSION_COOKIE}=; Max-Age=0; ${flags}; HttpOnly`, `${CSRF_COOKIE}=; Max-Age=0; ${flags}`];
  const maxAge = Math.floor((session.expiresAt - now) / 1000);
  return [`${SESSION_COOKIE}=${session.cookie}; Max-Age=${maxAge}; ${flags}; HttpOnly`, `${CSRF_COOKIE}=${session.csrf}; Max-Age=${maxAge}; ${flags}`];
}
