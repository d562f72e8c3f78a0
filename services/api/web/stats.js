// The stats view (#/stats?range=7d): incidents first seen over a range, by KB entry, image and host,
// how long they took to acknowledge and resolve, and the containers that keep failing. Each count
// links to the incidents it counts. Not kept current: a range's history changes slowly.
import { api, queryString } from './api.js';
import { h, mount } from './dom.js';
import { dateTime, duration } from './format.js';

const RANGES = [
  ['24h', 'last 24 hours', 86_400_000],
  ['7d', 'last 7 days', 7 * 86_400_000],
  ['30d', 'last 30 days', 30 * 86_400_000],
];

export async function statsView(root, params, signal) {
  const [range, , rangeMs] = RANGES.find(([key]) => key === params.get('range')) ?? RANGES[1];
  const since = new Date(Date.now() - rangeMs).toISOString();
  const [stats, kb] = await Promise.all([api(`/stats${queryString({ from: since })}`, { signal }), api('/kb', { signal })]);
  const titles = new Map(kb.entries.map((e) => [e.id, e.title]));
  const incidents = (filter) => `#/incidents${queryString({ ...filter, since })}`;
  mount(root,
    h('h1', {}, 'Stats'),
    h('div', { class: 'stats-range', role: 'group', 'aria-label': 'Range' },
      RANGES.map(([key, label]) => h('a', { href: `#/stats?range=${key}`, class: 'button', 'aria-current': key === range ? 'page' : undefined }, label))),
    h('p', { class: 'muted' }, 'Incidents first seen from ', dateTime(stats.from), ' to ', dateTime(stats.to), '.'),
    h('dl', { class: 'stats-totals' },
      h('div', {}, h('dt', {}, 'Incidents'), h('dd', { class: 'total' }, String(stats.total))),
      h('div', {}, h('dt', {}, 'Mean time to acknowledge'), h('dd', { class: 'mtta' }, mean(stats.timeToAcknowledge, 'acknowledged'))),
      h('div', {}, h('dt', {}, 'Mean time to resolve'), h('dd', { class: 'mttr' }, mean(stats.timeToResolve, 'resolved')))),
    h('div', { class: 'stats-grid' },
      breakdown('By KB entry', 'kb', stats.kb, (v) => [h('a', { href: incidents({ kb: v }) }, titles.get(v) ?? v), h('div', { class: 'muted' }, v)]),
      breakdown('By image', 'image', stats.image, (v) => h('code', {}, v)),
      breakdown('By host', 'host', stats.host, (v) => h('a', { href: incidents({ host: v }) }, v)),
      h('section', { class: 'stats-offenders', 'aria-label': 'Repeat offenders' },
        h('h2', {}, 'Repeat offenders'),
        stats.offenders.length === 0
          ? h('p', { class: 'muted' }, 'none')
          : h('table', { class: 'stats-table' },
              h('thead', {}, h('tr', {}, ['Container', 'Image', 'Incidents', 'Occurrences'].map((t) => h('th', {}, t)))),
              h('tbody', {}, stats.offenders.map((o) =>
                h('tr', { dataset: { container: o.container } },
                  h('td', {}, h('a', { href: incidents({ container: o.container }) }, o.container)),
                  h('td', {}, o.image ? h('code', {}, o.image) : h('span', { class: 'muted' }, 'unknown')),
                  h('td', { class: 'num incidents' }, String(o.incidents)),
                  h('td', { class: 'num occurrences' }, String(o.occurrences)))))))),
  );
  return undefined;
}

function mean({ meanMs, incidents }, what) {
  return meanMs === null ? h('span', { class: 'muted' }, `none ${what}`) : [duration(meanMs), h('span', { class: 'muted' }, ` over ${incidents} ${what}`)];
}

/** Counts of one field, most first, each with a bar of its share of the largest. */
function breakdown(title, key, counts, label) {
  const max = Math.max(1, ...counts.map((c) => c.count));
  return h('section', { class: ['stats-breakdown', `stats-${key}`], 'aria-label': title },
    h('h2', {}, title),
    counts.length === 0
      ? h('p', { class: 'muted' }, 'none')
      : h('table', { class: 'stats-table' },
          h('tbody', {}, counts.map(({ value, count }) =>
            h('tr', { dataset: { value } },
              h('td', { class: 'label' }, label(value)),
              h('td', { class: 'bar' }, h('span', { style: { width: `${(count / max) * 100}%` } })),
              h('td', { class: 'num count' }, String(count)))))));
}
