// The incident list: full-text search, filters, facet counts and a histogram over time. The filters
// live in the hash (#/incidents?q=oom&kb=oom-kill), so a view can be bookmarked and shared.
import { api, queryString } from './api.js';
import { h, mount } from './dom.js';
import { ago, dateTime, duration } from './format.js';

const FILTERS = ['q', 'kb', 'host', 'container', 'severity', 'status', 'since', 'until'];
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const STATUSES = ['open', 'acknowledged', 'resolved'];
const RANGES = [
  ['', 'any time'],
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
];
const RANGE_MS = { h: 3_600_000, d: 86_400_000 };
const PAGE = 50;

/** The filters of a hash query string; `range` (24h...) becomes `since`. */
function filtersOf(params) {
  const filters = {};
  for (const key of FILTERS) {
    const value = params.get(key);
    if (value) filters[key] = value;
  }
  const range = /^(\d+)([hd])$/.exec(params.get('range') ?? '');
  if (range && !filters.since) filters.since = new Date(Date.now() - Number(range[1]) * RANGE_MS[range[2]]).toISOString();
  return filters;
}

function go(params) {
  const qs = queryString(Object.fromEntries([...params].filter(([, v]) => v)));
  location.hash = `#/incidents${qs}`;
}

/** Renders the list for the hash's query string into `root`. */
export async function incidentList(root, params, signal) {
  const filters = filtersOf(params);
  const set = (changes) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    go(next);
  };

  const [page, facets, kb] = await Promise.all([
    api(`/incidents${queryString({ ...filters, limit: PAGE })}`, { signal }),
    api(`/incidents/facets${queryString(filters)}`, { signal }),
    kbTitles(signal),
  ]);

  const rows = h('tbody');
  const more = h('div', { class: 'more' });
  const showPage = (p) => {
    for (const incident of p.incidents) rows.append(row(incident));
    mount(more, p.nextCursor ? h('button', { type: 'button', onclick: () => loadMore(p.nextCursor) }, 'Load more') : null);
  };
  const loadMore = async (cursor) => {
    showPage(await api(`/incidents${queryString({ ...filters, limit: PAGE, cursor })}`));
  };
  showPage(page);

  mount(
    root,
    h('form', { class: 'search', role: 'search', onsubmit: (e) => (e.preventDefault(), submit(e.currentTarget, params)) },
      h('input', { type: 'search', name: 'q', value: params.get('q') ?? '', placeholder: 'Search title, message, container, image, KB text', 'aria-label': 'Search' }),
      select('kb', 'KB entry', params.get('kb'), [['', 'any KB entry'], ...[...kb].map(([id, title]) => [id, title])]),
      h('input', { type: 'text', name: 'host', value: params.get('host') ?? '', placeholder: 'host', 'aria-label': 'Host' }),
      h('input', { type: 'text', name: 'container', value: params.get('container') ?? '', placeholder: 'container', 'aria-label': 'Container' }),
      select('severity', 'Severity', params.get('severity'), [['', 'any severity'], ...SEVERITIES.map((s) => [s, s])]),
      select('status', 'Status', params.get('status'), [['', 'any status'], ...STATUSES.map((s) => [s, s])]),
      select('range', 'Time range', params.get('range'), RANGES),
      h('button', { type: 'submit' }, 'Search'),
      FILTERS.some((k) => params.get(k)) || params.get('range') ? h('a', { href: '#/incidents', class: 'clear' }, 'Clear') : null,
    ),
    params.get('since') || params.get('until')
      ? h('p', { class: 'range' }, 'From ', dateTime(params.get('since') ?? '') || 'the start', ' to ', dateTime(params.get('until') ?? '') || 'now', ' ',
          h('button', { type: 'button', class: 'link', onclick: () => set({ since: '', until: '' }) }, 'any time'))
      : null,
    h('div', { class: 'columns' },
      h('aside', { class: 'facets', 'aria-label': 'Facets' },
        h('p', { class: 'total' }, h('strong', {}, String(facets.total)), facets.total === 1 ? ' incident' : ' incidents'),
        facetList('KB entry', 'kb', facets.kb, params, set, (v) => kb.get(v) ?? v),
        facetList('Severity', 'severity', facets.severity, params, set),
        facetList('Status', 'status', facets.status, params, set),
        facetList('Host', 'host', facets.host, params, set),
        facetList('Container', 'container', facets.container, params, set),
      ),
      h('section', { class: 'results' },
        histogram(facets.histogram, set),
        page.incidents.length === 0
          ? h('p', { class: 'empty' }, 'No incident matches.')
          : h('table', { class: 'incidents' },
              h('thead', {}, h('tr', {}, ['Severity', 'Incident', 'Where', 'Count', 'Status', 'Last seen'].map((t) => h('th', {}, t)))),
              rows),
        more,
      ),
    ),
  );
}

function submit(form, params) {
  const data = new FormData(form);
  const next = new URLSearchParams();
  for (const key of ['q', 'kb', 'host', 'container', 'severity', 'status', 'range']) {
    const value = String(data.get(key) ?? '').trim();
    if (value) next.set(key, value);
  }
  // A time window picked on the histogram stays until cleared or a range is chosen.
  if (!next.get('range')) for (const key of ['since', 'until']) if (params.get(key)) next.set(key, params.get(key));
  go(next);
}

function select(name, label, current, options) {
  return h('select', { name, 'aria-label': label },
    options.map(([value, text]) => h('option', { value, selected: (current ?? '') === value }, text)));
}

let kbCache;
/** KB entry titles by id (the list's labels), fetched once. */
async function kbTitles(signal) {
  kbCache ??= api('/kb', { signal }).then((r) => new Map(r.entries.map((e) => [e.id, e.title])), (error) => {
    kbCache = undefined;
    throw error;
  });
  return kbCache;
}

function facetList(title, key, counts, params, set, label = (v) => v) {
  const active = params.get(key);
  return h('section', { class: 'facet' },
    h('h3', {}, title),
    counts.length === 0 ? h('p', { class: 'muted' }, 'none') : null,
    h('ul', {},
      counts.map(({ value, count }) =>
        h('li', {},
          h('button', { type: 'button', class: ['link', value === active && 'active'], 'aria-pressed': String(value === active), title: value,
            onclick: () => set({ [key]: value === active ? '' : value }) },
            h('span', { class: 'value' }, label(value)), h('span', { class: 'count' }, String(count))))),
    ),
  );
}

/** Bars of incidents by lastSeen; a click narrows the time range to that bucket. */
function histogram(hist, set) {
  if (!hist.from || hist.counts.length === 0) return null;
  const from = Date.parse(hist.from);
  const max = Math.max(1, ...hist.counts);
  const to = from + hist.counts.length * hist.bucketMs;
  return h('figure', { class: 'histogram' },
    h('div', { class: 'bars' },
      hist.counts.map((count, i) => {
        const start = from + i * hist.bucketMs;
        const end = start + hist.bucketMs - 1;
        const label = `${count} incident${count === 1 ? '' : 's'} last seen ${dateTime(new Date(start).toISOString())} – ${dateTime(new Date(end).toISOString())}`;
        return h('button', { type: 'button', class: 'bar', title: label, 'aria-label': label, disabled: count === 0,
          onclick: () => set({ since: new Date(start).toISOString(), until: new Date(end).toISOString(), range: '' }) },
          h('span', { style: { height: `${(count / max) * 100}%` } }));
      })),
    h('figcaption', {},
      h('span', {}, dateTime(hist.from)),
      h('span', {}, `incidents by last seen, ${duration(hist.bucketMs)} a bar`),
      h('span', {}, dateTime(new Date(to).toISOString()))),
  );
}

function row(incident) {
  const where = incident.container
    ? [h('span', { class: 'container' }, incident.container.name), h('span', { class: 'muted' }, ` on ${incident.host}`)]
    : [h('span', { class: 'muted' }, 'host '), incident.host];
  return h('tr', { class: `sev-${incident.severity}` },
    h('td', {}, h('span', { class: ['badge', `sev-${incident.severity}`] }, incident.severity)),
    h('td', {},
      h('a', { href: `#/incidents/${encodeURIComponent(incident.id)}`, class: 'title' }, incident.title),
      h('div', { class: 'message' }, incident.message),
      h('div', { class: 'muted kb' }, incident.kbId)),
    h('td', {}, where),
    h('td', { class: 'num' }, String(incident.count)),
    h('td', {}, h('span', { class: ['status', `status-${incident.status}`] }, incident.status)),
    h('td', { title: dateTime(incident.lastSeen) }, ago(incident.lastSeen)),
  );
}
