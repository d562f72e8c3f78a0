// The incident history page: hash routes (#/incidents, #/incidents/<id>, #/risks, #/kb, #/kb/<id>) that
// notification links point at, over the bearer-token API. No framework, no build step.
import { ApiError, token, whenUnauthorized } from './api.js';
import { h, mount } from './dom.js';
import { incidentDetail } from './incident.js';
import { incidentList } from './incidents.js';
import { kbEntry, kbList } from './kb.js';
import { riskList } from './risks.js';

const main = document.getElementById('main');
const logout = document.getElementById('logout');
let inflight;

function askToken(message) {
  logout.hidden = true;
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', placeholder: 'Bearer token', 'aria-label': 'API token', required: true });
  mount(main,
    h('form', { class: 'login', onsubmit: (e) => {
      e.preventDefault();
      token.set(input.value.trim());
      route();
    } },
      h('h1', {}, 'fineprint'),
      h('p', {}, 'Paste an API token. The admin token is printed on first start and kept in the data dir (', h('code', {}, 'admin-token'), '). It stays in this tab only.'),
      message ? h('p', { class: 'error' }, message) : null,
      input,
      h('button', { type: 'submit' }, 'Open')));
  input.focus();
}

async function route() {
  inflight?.abort();
  if (!token.get()) return askToken();
  logout.hidden = false;
  const controller = new AbortController();
  inflight = controller;
  const [path, qs = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = (path || '/incidents').split('/').filter(Boolean).map(decodeURIComponent);
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === parts[0]) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  try {
    if (parts[0] === 'kb' && parts[1]) await kbEntry(main, parts[1], controller.signal);
    else if (parts[0] === 'kb') await kbList(main, controller.signal);
    else if (parts[0] === 'incidents' && parts[1]) await incidentDetail(main, parts[1], controller.signal);
    else if (parts[0] === 'risks') await riskList(main, new URLSearchParams(qs), controller.signal);
    else await incidentList(main, new URLSearchParams(qs), controller.signal);
    document.title = `fineprint · ${main.querySelector('h1')?.textContent ?? (parts[0] === 'kb' ? 'knowledge base' : parts[0] === 'risks' ? 'risks' : 'incidents')}`;
  } catch (error) {
    if (error.name === 'AbortError' || (error instanceof ApiError && error.status === 401)) return;
    mount(main, h('p', { class: 'error' }, error instanceof ApiError && error.status === 404 ? `Not found: ${error.message}` : `Could not load this page: ${error.message}`));
  }
}

whenUnauthorized(() => askToken('That token was refused.'));
logout.addEventListener('click', () => {
  token.clear();
  askToken();
});
window.addEventListener('hashchange', route);
route();
