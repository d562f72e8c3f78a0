// The API, over the browser's session: a token is exchanged once for an HttpOnly cookie every tab
// of the browser shares (POST /api/v1/session); writes echo the readable CSRF cookie in a header.
// The token itself is never kept by the page, in storage, the URL or a script-readable cookie.
const CSRF_COOKIE = 'fineprint_csrf';
const CSRF_HEADER = 'x-fineprint-csrf';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Called when the API refuses the session (401): the app asks for a token. */
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** Who is signed in: `{name, scope}` once known, else null. */
export const session = { who: null };

/** Whether the signed-in token may acknowledge, resolve and silence. */
export const canAdmin = () => session.who?.scope === 'admin';

function csrf() {
  const pair = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  return pair ? pair.slice(CSRF_COOKIE.length + 1) : '';
}

async function request(path, { method = 'GET', body, signal, etag } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers[CSRF_HEADER] = csrf();
  if (etag) headers['if-none-match'] = etag;
  return fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: 'same-origin',
    // The page revalidates itself (If-None-Match); the browser's cache is not asked.
    cache: 'no-store',
  });
}

async function failure(res, method, path) {
  const data = await res.json().catch(() => null);
  return new ApiError(res.status, data?.code ?? 'FP_HTTP', data?.message ?? `${method} ${path}: HTTP ${res.status}`);
}

/** GET (or another method with `body`) an /api/v1 path; resolves with the JSON body, rejects with ApiError. */
export async function api(path, options = {}) {
  const method = options.method ?? 'GET';
  const res = await request(path, options);
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    throw await failure(res, method, path);
  }
  return res.status === 204 ? null : res.json();
}

/**
 * A conditional GET: `{changed: false}` when the answer still has entity tag `etag` (304, no body),
 * else `{changed: true, etag, data}`. What the page polls with.
 */
export async function revalidate(path, etag, signal) {
  const res = await request(path, { etag, signal });
  if (res.status === 304) return { changed: false, etag };
  if (!res.ok) {
    if (res.status === 401) onUnauthorized();
    throw await failure(res, 'GET', path);
  }
  return { changed: true, etag: res.headers.get('etag') ?? undefined, data: await res.json() };
}

/** Exchanges a token for this browser's session; resolves with `{name, scope}`. */
export async function signIn(token) {
  const res = await request('/session', { method: 'POST', body: { token } });
  if (!res.ok) throw await failure(res, 'POST', '/session');
  const { name, scope } = await res.json();
  session.who = { name, scope };
  return session.who;
}

/** Who the browser's session belongs to, or null without one. */
export async function whoami() {
  const res = await request('/whoami');
  if (res.status === 401) return (session.who = null);
  if (!res.ok) throw await failure(res, 'GET', '/whoami');
  const { name, scope } = await res.json();
  return (session.who = { name, scope });
}

/** Ends the session of every tab of this browser (the cookies are cleared). */
export async function signOut() {
  session.who = null;
  const res = await request('/session', { method: 'DELETE' });
  if (!res.ok) throw await failure(res, 'DELETE', '/session');
}

/** A query string of the non-empty values. */
export function queryString(params) {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') qs.set(key, String(value));
  const text = qs.toString();
  return text ? `?${text}` : '';
}
