// The page: hash routes (#/containers, #/incidents, #/incidents/<id>, #/silences, #/risks, #/stats,
// #/kb, #/kb/<id>) that notification links point at, over the API. No framework, no build step.
// It keeps itself current by conditional polling: one cheap request (a 304 when nothing changed)
// for the open count in the tab title, and one for the view shown, which is redrawn only when its
// answer changed and nobody is typing in it.
import { ApiError, revalidate, session, signIn, signOut, whenUnauthorized, whoami } from './api.js';
import { containerList } from './containers.js';
import { h, mount } from './dom.js';
import { incidentDetail } from './incident.js';
import { incidentList } from './incidents.js';
import { kbEntry, kbList } from './kb.js';
import { riskList } from './risks.js';
import { silenceList } from './silences.js';
import { statsView } from './stats.js';

/** How often the view shown and the open count are checked (ms). */
const POLL_MS = 5000;
/** How often a tab in the background checks the open count (its title) (ms). */
const HIDDEN_POLL_MS = 30_000;
const OPEN_COUNT = '/incidents/facets?status=open';

const main = document.getElementById('main');
const logout = document.getElementById('logout');
const nav = document.getElementById('nav');
/** Tells the other tabs of this browser that the session began or ended. */
const tabs = new BroadcastChannel('fineprint-session');

let inflight;
let viewTitle = 'fineprint';
let openCount = { etag: undefined, count: null };
/** The view's probe: the path whose answer changing means the view is stale. */
let watched;
let timer;

function showTitle() {
  document.title = `${openCount.count ? `(${openCount.count}) ` : ''}${viewTitle} · fineprint`;
}

function askToken(message) {
  inflight?.abort();
  watched = undefined;
  logout.hidden = true;
  nav.hidden = true;
  viewTitle = 'sign in';
  openCount = { etag: undefined, count: null };
  showTitle();
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', placeholder: 'Token', 'aria-label': 'API token', required: true });
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  mount(main,
    h('form', { class: 'login', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await signIn(input.value.trim());
        tabs.postMessage('signed-in');
        await route();
      } catch (failure) {
        mount(error, failure instanceof ApiError && failure.status === 401 ? 'That token was refused.' : failure.message);
      }
    } },
      h('h1', {}, 'fineprint'),
      h('p', {}, 'Paste an API token. The admin token is printed on first start and kept in the data dir (', h('code', {}, 'admin-token'), '). ',
        'This browser stays signed in, in every tab, until you choose “Forget token”.'),
      error,
      input,
      h('button', { type: 'submit' }, 'Sign in')));
  input.focus();
}

const VIEWS = {
  containers: { title: 'containers', render: (parts, params, signal) => containerList(main, signal) },
  incidents: {
    title: 'incidents',
    render: (parts, params, signal) => (parts[1] ? incidentDetail(main, parts[1], signal) : incidentList(main, params, signal)),
  },
  silences: { title: 'silences', render: (parts, params, signal) => silenceList(main, signal) },
  risks: { title: 'risks', render: (parts, params, signal) => riskList(main, params, signal) },
  stats: { title: 'stats', render: (parts, params, signal) => statsView(main, params, signal) },
  kb: { title: 'knowledge base', render: (parts, params, signal) => (parts[1] ? kbEntry(main, parts[1], signal) : kbList(main, signal)) },
};

async function route() {
  inflight?.abort();
  if (!session.who && !(await whoami())) return askToken();
  logout.hidden = false;
  nav.hidden = false;
  const controller = new AbortController();
  inflight = controller;
  const [path, qs = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = (path || '/containers').split('/').filter(Boolean).map(decodeURIComponent);
  const view = VIEWS[parts[0]] ?? VIEWS.containers;
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === parts[0]) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  try {
    const probe = await view.render(parts, new URLSearchParams(qs), controller.signal);
    viewTitle = main.querySelector('h1')?.textContent || view.title;
    showTitle();
    if (openCount.count === null) await refreshOpenCount();
    watched = probe ? { path: probe, etag: (await revalidate(probe, undefined, controller.signal)).etag, signal: controller.signal } : undefined;
  } catch (error) {
    if (error.name === 'AbortError' || (error instanceof ApiError && error.status === 401)) return;
    mount(main, h('p', { class: 'error' }, error instanceof ApiError && error.status === 404 ? `Not found: ${error.message}` : `Could not load this page: ${error.message}`));
  }
}

/** The option a select shows when nobody has touched it. */
const defaultIndex = (select) => Math.max(0, [...select.options].findIndex((o) => o.defaultSelected));

/** Someone is typing or choosing in the view, or has changed a field: redrawing it now would lose that. */
function editing() {
  if (main.contains(document.activeElement) && ['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement.tagName)) return true;
  return [...main.querySelectorAll('input, select, textarea')].some((field) => {
    if (field.tagName === 'SELECT') return field.selectedIndex !== defaultIndex(field);
    return field.type === 'checkbox' ? field.checked !== field.defaultChecked : field.value !== field.defaultValue;
  });
}

async function refreshOpenCount() {
  const answer = await revalidate(OPEN_COUNT, openCount.etag);
  if (!answer.changed) return;
  openCount = { etag: answer.etag, count: answer.data.total };
  showTitle();
}

async function poll() {
  if (!session.who) return;
  await refreshOpenCount();
  const view = watched;
  if (document.hidden || !view || view.signal.aborted) return;
  const probe = await revalidate(view.path, view.etag, view.signal);
  if (probe.changed && watched === view && !editing()) await route();
}

function schedule(delay) {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    try {
      await poll();
    } catch (error) {
      // A failed check is retried at the next one; an expired session shows the sign-in form.
      if (!(error instanceof ApiError) && error.name !== 'AbortError') console.warn('fineprint: refresh failed', error);
    }
    schedule(document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  }, delay);
}

whenUnauthorized(() => {
  session.who = null;
  askToken('The session ended: sign in again.');
});
tabs.addEventListener('message', (event) => {
  if (event.data === 'signed-out') {
    session.who = null;
    askToken();
  } else if (event.data === 'signed-in' && !session.who) route();
});
logout.addEventListener('click', async () => {
  await signOut().catch(() => {});
  tabs.postMessage('signed-out');
  askToken();
});
window.addEventListener('hashchange', route);
document.addEventListener('visibilitychange', () => !document.hidden && schedule(0));
route().then(() => schedule(0));
