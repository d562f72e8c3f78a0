// The risks view (#/risks): what each container is exposed to now, as the audit found it, with the
// one-line fix; the daemon's own findings on top. Risks are a posture, not incidents: nothing here
// is acknowledged or resolved, a risk goes when its container is fixed or removed.
import { api, queryString } from './api.js';
import { h, mount } from './dom.js';
import { ago, time } from './format.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const rank = (severity) => SEVERITIES.length - SEVERITIES.indexOf(severity);
/** Pages of the list read at most (500 risks each); the posture of a fleet fits well within. */
const MAX_PAGES = 20;

async function allRisks(signal) {
  const risks = [];
  let cursor;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await api(`/risks${queryString({ limit: 500, cursor })}`, { signal });
    risks.push(...answer.risks);
    cursor = answer.nextCursor;
    if (!cursor) return { risks, complete: true };
  }
  return { risks, complete: false };
}

/** Subjects (the daemon of a host, or a container) with their risks, most severe first. */
function subjects(risks) {
  const byKey = new Map();
  for (const risk of risks) {
    const key = `${risk.host}/${risk.container?.id ?? ''}`;
    if (!byKey.has(key)) byKey.set(key, { host: risk.host, container: risk.container, risks: [] });
    byKey.get(key).risks.push(risk);
  }
  for (const s of byKey.values()) s.risks.sort((a, b) => rank(b.severity) - rank(a.severity) || a.kbId.localeCompare(b.kbId));
  return [...byKey.values()];
}

/** Compares two subjects by their findings, most severe first: count at each severity, from critical down. */
function bySeverity(a, b) {
  for (const severity of SEVERITIES) {
    const diff = b.risks.filter((r) => r.severity === severity).length - a.risks.filter((r) => r.severity === severity).length;
    if (diff) return diff;
  }
  return 0;
}

const byName = (a, b) => (a.container?.name ?? '').localeCompare(b.container?.name ?? '') || a.host.localeCompare(b.host);

export async function riskList(root, params, signal) {
  const sort = params.get('sort') === 'name' ? 'name' : 'severity';
  const [{ risks, complete }, summary] = await Promise.all([allRisks(signal), api('/risks/summary', { signal })]);
  const all = subjects(risks);
  const daemons = all.filter((s) => !s.container).sort((a, b) => a.host.localeCompare(b.host));
  const containers = all.filter((s) => s.container).sort(sort === 'name' ? byName : (a, b) => bySeverity(a, b) || byName(a, b));
  const sortButton = (value, label) =>
    h('button', { type: 'button', 'aria-pressed': String(sort === value), onclick: () => (location.hash = `#/risks${value === 'severity' ? '' : '?sort=name'}`) }, label);

  mount(
    root,
    h('h1', {}, 'Risks'),
    h('p', { class: 'muted' },
      'The fine print each container is exposed to, as the audit found it when the container started and on every periodic re-audit. ',
      'Risks are not incidents: they are never notified unless a route asks for them, and a risk disappears when its container is fixed or removed.'),
    h('p', { class: 'risk-totals' },
      `${summary.total} risk${summary.total === 1 ? '' : 's'}`,
      SEVERITIES.filter((s) => summary.bySeverity[s] > 0).map((s) => [' · ', h('span', { class: ['badge', `sev-${s}`] }, s), ` ${summary.bySeverity[s]}`])),
    complete ? null : h('p', { class: 'error' }, `Showing the ${risks.length} most severe risks only.`),
    h('div', { class: 'risk-sort', role: 'group', 'aria-label': 'Sort containers' }, 'Sort: ', sortButton('severity', 'most severe first'), ' ', sortButton('name', 'by name')),
    all.length === 0 ? h('p', { class: 'empty' }, 'No risks: every audited container and the daemon passed every check.') : null,
    daemons.length ? h('section', { class: 'risks daemon', 'aria-label': 'Docker daemon' }, daemons.map((s) => subject(s, `Docker daemon on ${s.host}`))) : null,
    containers.length ? h('section', { class: 'risks containers', 'aria-label': 'Containers' }, containers.map((s) => subject(s, s.container.name || s.container.id.slice(0, 12)))) : null,
  );
  return '/risks/summary';
}

function subject(s, title) {
  return h('article', { class: 'risk-subject', dataset: { host: s.host, container: s.container?.name ?? '' } },
    h('h2', {}, title, ' ', s.container ? h('span', { class: 'muted' }, `${s.container.image} · ${s.container.id.slice(0, 12)} · ${s.host}`) : null),
    h('table', { class: 'risk-table' },
      h('thead', {}, h('tr', {}, ['Severity', 'Exposed to', 'Fix', 'Seen'].map((t) => h('th', {}, t)))),
      h('tbody', {}, s.risks.map((r) =>
        h('tr', { class: 'risk', dataset: { kb: r.kbId, severity: r.severity } },
          h('td', {}, h('span', { class: ['badge', `sev-${r.severity}`] }, r.severity)),
          h('td', {}, h('a', { href: `#/kb/${encodeURIComponent(r.kbId)}` }, r.kbId), h('div', { class: 'risk-message' }, r.message)),
          h('td', { class: 'risk-fix' }, h('code', {}, r.fix)),
          h('td', { class: 'muted' }, time(r.lastSeen, ago(r.lastSeen))))))));
}
