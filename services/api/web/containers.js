// The containers view (#/containers), where a person starts: every container fineprint knows of
// (from its incidents and the audit's risks), how it was last seen (state, exit code, restarts),
// its unresolved incidents and its risks; the most troubled first.
import { api } from './api.js';
import { h, mount } from './dom.js';
import { ago, time } from './format.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

/** "3 high, 1 medium": counts by severity, most severe first. */
function severityCounts(items) {
  return SEVERITIES.map((s) => [s, items.filter((i) => i.severity === s).length]).filter(([, n]) => n > 0);
}

export async function containerList(root, signal) {
  const { containers, complete } = await api('/containers', { signal });
  const troubled = containers.filter((c) => c.unresolved.length > 0).length;
  mount(
    root,
    h('h1', {}, 'Containers'),
    h('p', { class: 'muted' },
      `${containers.length} container${containers.length === 1 ? '' : 's'} with incidents or risks`,
      troubled ? `, ${troubled} with unresolved incidents` : '',
      '. State and restarts are as inspected at the latest incident.'),
    complete ? null : h('p', { class: 'error' }, 'Built from the latest incidents only: older containers may be missing.'),
    containers.length === 0
      ? h('p', { class: 'empty' }, 'No container has had an incident or a risk yet.')
      : h('table', { class: 'containers' },
          h('thead', {}, h('tr', {}, ['Container', 'State', 'Restarts', 'Unresolved incidents', 'Risks', 'Last incident'].map((t) => h('th', {}, t)))),
          h('tbody', {}, containers.map(row))),
  );
  return '/containers';
}

function state(c) {
  if (!c.state) return h('span', { class: 'muted' }, 'not inspected');
  const { status, exitCode, oomKilled } = c.state;
  return [
    h('span', { class: ['cstate', `cstate-${status}`] }, status),
    status === 'running' ? null : h('span', { class: 'muted' }, ` exit ${exitCode}`),
    oomKilled ? h('span', { class: 'error' }, ' OOM-killed') : null,
    c.observedAt ? h('div', { class: 'muted' }, time(c.observedAt, `as of ${ago(c.observedAt)}`)) : null,
  ];
}

function row(c) {
  const incidentsLink = `#/incidents?container=${encodeURIComponent(c.name)}&host=${encodeURIComponent(c.host)}`;
  return h('tr', { class: 'container-row', dataset: { container: c.name, host: c.host } },
    h('td', { class: 'who' },
      c.worst ? h('span', { class: ['dot', `sev-${c.worst}`], title: `worst: ${c.worst}` }) : null,
      h('a', { href: incidentsLink, class: 'name' }, c.name || c.id.slice(0, 12)),
      h('div', { class: 'muted' }, `${c.image} · ${c.id.slice(0, 12)} · ${c.host}`),
      c.compose ? h('div', { class: 'muted' }, `compose ${c.compose.project} / ${c.compose.service}`) : null),
    h('td', { class: 'state' }, state(c)),
    h('td', { class: 'num restarts' }, c.state ? String(c.state.restartCount) : '–', c.restartPolicy?.name ? h('div', { class: 'muted' }, c.restartPolicy.name) : null),
    h('td', { class: 'open' },
      c.unresolved.length === 0
        ? h('span', { class: 'muted' }, c.incidents.resolved ? `none (${c.incidents.resolved} resolved)` : 'none')
        : h('ul', { class: 'plain' }, c.unresolved.map((i) =>
            h('li', {}, h('span', { class: ['badge', `sev-${i.severity}`] }, i.severity), ' ',
              h('a', { href: `#/incidents/${encodeURIComponent(i.id)}` }, i.title),
              i.status === 'acknowledged' ? h('span', { class: 'muted' }, ' (acknowledged)') : null)))),
    h('td', { class: 'risks' },
      c.risks.length === 0
        ? h('span', { class: 'muted' }, 'none')
        : [
            severityCounts(c.risks).map(([s, n]) => h('span', { class: 'risk-count' }, h('span', { class: ['badge', `sev-${s}`] }, s), ` ${n} `)),
            h('div', {}, h('a', { href: `#/risks` }, c.risks.map((r) => r.kbId).slice(0, 3).join(', ') + (c.risks.length > 3 ? ', …' : ''))),
          ]),
    h('td', { class: 'seen' }, c.lastIncident ? time(c.lastIncident, ago(c.lastIncident)) : h('span', { class: 'muted' }, 'never')),
  );
}
