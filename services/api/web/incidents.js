// The incident list: full-text search, filters, facet counts and a histogram over time. The filters
// live in the hash (#/incidents?q=oom&severity=critical,high), so a view can be bookmarked and
// shared. Most severe first by default (then most recent), or most recent first (`sort=recent`).
import { api, queryString } from './api.js';
import { h, mount } from './dom.js';
import { ago, dateTime, duration, time } from './format.js';

const FILTERS = ['q', 'kb', 'host', 'container', 'severity', 'minSeverity', 'status', 'since', 'until'];
/** Most severe first. */
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
/** The phone layout's media query (style.css). */
const NARROW = '(max-width: 760px)';

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

/** The severities a filter admits, most severe first: those listed, and no less than `minSeverity`. */
function severitiesOf(filters) {
  const listed = filters.severity ? filters.severity.split(',') : SEVERITIES;
  const floor = SEVERITIES.indexOf(filters.minSeverity ?? 'info');
  return SEVERITIES.filter((s, i) => listed.includes(s) && (floor < 0 || i <= floor));
}

function go(params) {
  const qs = queryString(Object.fromEntries([...params].filter(([, v]) => v)));
  location.hash = `#/incidents${qs}`;
}

/**
 * Pages of incidents most severe first, then most recent: the store answers most recent first, so
 * each severity is read in turn, from where the previous page stopped.
 */
function bySeverity(filters) {
  const { severity: _, minSeverity: __, ...rest } = filters;
  const order = severitiesOf(filters);
  let at = { index: 0, cursor: undefined };
  return {
    async next(signal) {
      const incidents = [];
      while (at.index < order.length && incidents.length < PAGE) {
        const page = await api(`/incidents${queryString({ ...rest, severity: order[at.index], limit: PAGE - incidents.length, cursor: at.cursor })}`, { signal });
        incidents.push(...page.incidents);
        at = page.nextCursor ? { index: at.index, cursor: page.nextCursor } : { index: at.index + 1, cursor: undefined };
      }
      return { incidents, more: at.index < order.length };
    },
  };
}

/** Pages of incidents most recent first, as the store answers them. */
function byRecency(filters) {
  let cursor;
  return {
    async next(signal) {
      const page = await api(`/incidents${queryString({ ...filters, limit: PAGE, cursor })}`, { signal });
      cursor = page.nextCursor ?? undefined;
      return { incidents: page.incidents, more: Boolean(cursor) };
    },
  };
}

/** Renders the list for the hash's query string into `root`; resolves with the path that tells when it is stale. */
export async function incidentList(root, params, signal) {
  const filters = filtersOf(params);
  const recent = params.get('sort') === 'recent';
  const set = (changes) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    go(next);
  };

  const pages = recent ? byRecency(filters) : bySeverity(filters);
  const [first, facets, kb] = await Promise.all([pages.next(signal), api(`/incidents/facets${queryString(filters)}`, { signal }), kbTitles(signal)]);

  const rows = h('tbody');
  const more = h('div', { class: 'more' });
  const showPage = (p) => {
    for (const incident of p.incidents) place(rows, row(incident));
    mount(more, p.more ? h('button', { type: 'button', onclick: async () => showPage(await pages.next()) }, 'Load more') : null);
  };
  showPage(first);
  const sortButton = (value, label) =>
    h('button', { type: 'button', 'aria-pressed': String(recent === (value === 'recent')), onclick: () => set({ sort: value === 'recent' ? 'recent' : '' }) }, label);

  mount(
    root,
    h('h1', { class: 'visually-hidden' }, 'Incidents'),
    h('form', { class: 'search', role: 'search', onsubmit: (e) => (e.preventDefault(), submit(e.currentTarget, params)) },
      h('input', { type: 'search', name: 'q', value: params.get('q') ?? '', placeholder: 'Search title, message, container, image, KB text', 'aria-label': 'Search' }),
      h('button', { type: 'submit' }, 'Search'),
      FILTERS.some((k) => params.get(k)) || params.get('range') ? h('a', { href: '#/incidents', class: 'clear' }, 'Clear') : null,
      // On a phone the filters fold away unless one is set: the list comes first.
      h('details', { class: 'filters', open: !matchMedia(NARROW).matches || FILTERS.slice(1).some((k) => params.get(k)) || Boolean(params.get('range')) },
        h('summary', {}, 'Filters'),
        h('div', { class: 'fields' },
          select('kb', 'KB entry', params.get('kb'), [['', 'any KB entry'], ...[...kb].map(([id, title]) => [id, title])]),
          h('input', { type: 'text', name: 'host', value: params.get('host') ?? '', placeholder: 'host', 'aria-label': 'Host' }),
          h('input', { type: 'text', name: 'container', value: params.get('container') ?? '', placeholder: 'container', 'aria-label': 'Container' }),
          severityPicker(params),
          select('status', 'Status', params.get('status'), [['', 'any status'], ...STATUSES.map((s) => [s, s])]),
          select('range', 'Time range', params.get('range'), RANGES))),
    ),
    params.get('since') || params.get('until')
      ? h('p', { class: 'range' }, 'From ', dateTime(params.get('since') ?? '') || 'the start', ' to ', dateTime(params.get('until') ?? '') || 'now', ' ',
          h('button', { type: 'button', class: 'link', onclick: () => set({ since: '', until: '' }) }, 'any time'))
      : null,
    h('div', { class: 'columns' },
      h('section', { class: 'results', 'aria-label': 'Incidents' },
        h('div', { class: 'list-head' },
          h('p', { class: 'total' }, h('strong', {}, String(facets.total)), facets.total === 1 ? ' incident' : ' incidents'),
          h('div', { class: 'sort', role: 'group', 'aria-label': 'Sort incidents' }, 'Sort: ', sortButton('severity', 'most severe first'), ' ', sortButton('recent', 'most recent first'))),
        first.incidents.length === 0
          ? h('p', { class: 'empty' }, 'No incident matches.')
          : h('table', { class: 'incidents' },
              h('thead', {}, h('tr', {}, ['Severity', 'Incident', 'Where', 'Count', 'Status', 'Last seen'].map((t) => h('th', {}, t)))),
              rows),
        more,
        histogram(facets.histogram, set),
      ),
      h('aside', { class: 'facets', 'aria-label': 'Facets' },
        facetList('KB entry', 'kb', facets.kb, params, set, (v) => kb.get(v) ?? v),
        severityFacet(facets.severity, params, set),
        facetList('Status', 'status', facets.status, params, set),
        facetList('Host', 'host', facets.host, params, set),
        facetList('Container', 'container', facets.container, params, set),
      ),
    ),
  );
  return `/incidents${queryString({ ...filters, limit: PAGE })}`;
}

/** A checkbox per severity (any number of them) and "medium or worse". */
function severityPicker(params) {
  const chosen = (params.get('severity') ?? '').split(',');
  return h('fieldset', { class: 'severities' },
    h('legend', { class: 'visually-hidden' }, 'Severity'),
    SEVERITIES.map((s) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'severity', value: s, checked: chosen.includes(s) }), h('span', { class: ['badge', `sev-${s}`] }, s))),
    select('minSeverity', 'Severity at least', params.get('minSeverity'), [['', 'any severity'], ...SEVERITIES.slice(0, -1).map((s) => [s, s === 'critical' ? 'critical only' : `${s} or worse`])]),
  );
}

function submit(form, params) {
  const data = new FormData(form);
  const next = new URLSearchParams();
  for (const key of ['q', 'kb', 'host', 'container', 'minSeverity', 'status', 'range']) {
    const value = String(data.get(key) ?? '').trim();
    if (value) next.set(key, value);
  }
  const severities = data.getAll('severity').map(String);
  if (severities.length) next.set('severity', severities.join(','));
  if (params.get('sort')) next.set('sort', params.get('sort'));
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

function facetButton(value, count, active, label, onclick) {
  return h('li', {},
    h('button', { type: 'button', class: ['link', active && 'active'], 'aria-pressed': String(active), title: value, onclick },
      h('span', { class: 'value' }, label), h('span', { class: 'count' }, String(count))));
}

function facetList(title, key, counts, params, set, label = (v) => v) {
  const active = params.get(key);
  return h('section', { class: 'facet' },
    h('h3', {}, title),
    counts.length === 0 ? h('p', { class: 'muted' }, 'none') : null,
    h('ul', {}, counts.map(({ value, count }) => facetButton(value, count, value === active, label(value), () => set({ [key]: value === active ? '' : value })))),
  );
}

/** Severity counts, most severe first; a click adds the severity to those shown, or takes it away. */
function severityFacet(counts, params, set) {
  const chosen = (params.get('severity') ?? '').split(',').filter(Boolean);
  const sorted = [...counts].sort((a, b) => SEVERITIES.indexOf(a.value) - SEVERITIES.indexOf(b.value));
  return h('section', { class: 'facet' },
    h('h3', {}, 'Severity'),
    sorted.length === 0 ? h('p', { class: 'muted' }, 'none') : null,
    h('ul', {}, sorted.map(({ value, count }) => {
      const active = chosen.includes(value);
      const next = active ? chosen.filter((s) => s !== value) : SEVERITIES.filter((s) => s === value || chosen.includes(s));
      return facetButton(value, count, active, value, () => set({ severity: next.join(',') }));
    })),
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
      time(hist.from),
      h('span', {}, `by last seen, ${duration(hist.bucketMs)} a bar`),
      time(new Date(to).toISOString())),
  );
}

/**
 * Adds a row to the list: a consequence goes under its cause when the cause is listed (after the
 * consequences already there), and consequences listed before their cause move under it.
 */
function place(rows, tr) {
  const causedBy = tr.dataset.causedBy;
  const cause = causedBy ? [...rows.children].find((r) => r.dataset.id === causedBy) : undefined;
  if (cause) {
    let last = cause;
    while (last.nextElementSibling?.dataset.causedBy === causedBy) last = last.nextElementSibling;
    tr.classList.add('consequence');
    last.after(tr);
  } else rows.append(tr);
  let last = tr;
  for (const consequence of [...rows.children].filter((r) => r.dataset.causedBy === tr.dataset.id && !r.classList.contains('consequence'))) {
    consequence.classList.add('consequence');
    last.after(consequence);
    last = consequence;
  }
}

function row(incident) {
  const where = incident.container
    ? [h('span', { class: 'container' }, incident.container.name), h('span', { class: 'muted' }, ` on ${incident.host}`)]
    : [h('span', { class: 'muted' }, 'host '), incident.host];
  return h('tr', { class: `sev-${incident.severity}`, dataset: incident.causedBy ? { id: incident.id, causedBy: incident.causedBy } : { id: incident.id } },
    h('td', { class: 'sev' }, h('span', { class: ['badge', `sev-${incident.severity}`] }, incident.severity)),
    h('td', { class: 'what' },
      incident.causedBy ? h('a', { href: `#/incidents/${encodeURIComponent(incident.causedBy)}`, class: 'caused-by', title: 'The incident that caused this one' }, 'consequence of') : null,
      h('a', { href: `#/incidents/${encodeURIComponent(incident.id)}`, class: 'title' }, incident.title),
      h('div', { class: 'message' }, incident.summary),
      h('div', { class: 'muted kb' }, incident.kbId)),
    h('td', { class: 'where' }, where),
    h('td', { class: 'num count', title: 'occurrences' }, String(incident.count)),
    h('td', { class: 'state' }, h('span', { class: ['status', `status-${incident.status}`] }, incident.status)),
    h('td', { class: 'seen' }, time(incident.lastSeen, ago(incident.lastSeen))),
  );
}
