// One incident: what happened (evidence on a timeline), why and how to fix it (its KB entry), the
// container's facts, who was notified, and the admin actions: acknowledge, resolve, silence.
import { api, ApiError, canAdmin } from './api.js';
import { h, mount, prose } from './dom.js';
import { bytes, clock, dateTime, duration, time } from './format.js';

const SILENCE_FOR = [
  ['1h', 3_600_000],
  ['4h', 4 * 3_600_000],
  ['24h', 86_400_000],
  ['7d', 7 * 86_400_000],
];

export async function incidentDetail(root, id, signal) {
  const incident = await api(`/incidents/${encodeURIComponent(id)}`, { signal });
  const reload = () => incidentDetail(root, id);
  mount(
    root,
    h('p', {}, h('a', { href: '#/incidents', class: 'back' }, '← All incidents')),
    h('header', { class: 'incident' },
      h('h1', {}, h('span', { class: ['badge', `sev-${incident.severity}`] }, incident.severity), ' ', incident.title),
      h('p', { class: 'message' }, incident.message),
      summary(incident),
    ),
    canAdmin() ? actions(incident, reload) : h('p', { class: 'muted read-only' }, 'Read-only token: acknowledging, resolving and silencing need an admin token.'),
    incident.risks?.length ? foreseeable(incident.risks) : null,
    incident.kb ? kbSection(incident.kb, placeNotes(incident.evidence)) : null,
    incident.changes ? changes(incident.changes) : null,
    incident.lastWords ? lastWords(incident.lastWords) : null,
    incident.memoryCurve || incident.oomScope || incident.memoryUsers ? memory(incident.memoryCurve, incident.oomScope, incident.memoryUsers) : null,
    timeline(incident.evidence, incident.evidenceCount),
    incident.facts ? facts(incident.facts) : null,
    notifications(incident.notifications, incident.notificationRouting, incident.cause),
  );
  return `/incidents/${encodeURIComponent(id)}`;
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function mark(m) {
  return m ? [`${m.by}, `, time(m.at), m.comment ? `: ${m.comment}` : ''] : undefined;
}

function summary(i) {
  return dl([
    ['Status', h('span', { class: ['status', `status-${i.status}`] }, i.status)],
    ['KB entry', h('a', { href: `#/kb/${encodeURIComponent(i.kbId)}` }, i.kbId)],
    ['Container', i.container ? `${i.container.name} (${i.container.id.slice(0, 12)})` : 'none: host-level'],
    ['Image', i.container?.image],
    ['Compose', i.compose ? `${i.compose.project} / ${i.compose.service}` : undefined],
    ['Host', i.host],
    ['Caused by', i.cause ? incidentLink(i.cause) : undefined],
    ['Consequences', i.consequences?.length ? h('ul', { class: 'consequences' }, i.consequences.map((c) => h('li', {}, incidentLink(c)))) : undefined],
    ['Occurrences', String(i.count)],
    ['First seen', time(i.firstSeen)],
    ['Last seen', time(i.lastSeen)],
    ['Re-opened', i.reopened ? `${i.reopened} times` : undefined],
    ['Acknowledged', mark(i.acknowledged)],
    ['Resolved', i.resolved ? [mark(i.resolved), i.resolved.auto ? ' (automatic)' : ''] : undefined],
  ]);
}

/** A linked incident (cause or consequence): its title, to its page, and its KB entry. */
function incidentLink(link) {
  return [h('a', { href: `#/incidents/${encodeURIComponent(link.id)}` }, link.title), ' ', h('span', { class: 'muted' }, `(${link.kbId})`)];
}

/** Acknowledge, resolve and silence; the API answers 403 to a read-only token, shown as such. */
function actions(incident, reload) {
  const result = h('p', { class: 'result', role: 'status' });
  const run = async (button, call, done) => {
    button.disabled = true;
    mount(result);
    try {
      const answer = await call();
      mount(result, done(answer));
      if (done !== silenced) await reload();
    } catch (error) {
      mount(result, h('span', { class: 'error' }, error instanceof ApiError && error.status === 403 ? 'This needs an admin token.' : error.message));
    } finally {
      button.disabled = false;
    }
  };
  const comment = h('input', { type: 'text', name: 'comment', placeholder: 'Comment (optional)', 'aria-label': 'Comment' });
  const body = () => (comment.value.trim() ? { comment: comment.value.trim() } : {});
  const path = `/incidents/${encodeURIComponent(incident.id)}`;
  const ack = h('button', { type: 'button', disabled: incident.status !== 'open', onclick: () => run(ack, () => api(`${path}/ack`, { method: 'POST', body: body() }), () => 'Acknowledged.') }, 'Acknowledge');
  const resolve = h('button', { type: 'button', disabled: incident.status === 'resolved', onclick: () => run(resolve, () => api(`${path}/resolve`, { method: 'POST', body: body() }), () => 'Resolved.') }, 'Resolve');

  const matchers = [
    ['kb', 'KB entry', incident.kbId],
    ['host', 'host', incident.host],
    ['container', 'container', incident.compose?.service ?? incident.container?.name],
  ].filter(([, , value]) => value);
  const checks = matchers.map(([key, label, value]) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: key, value, checked: key !== 'host' }), ` ${label} = `, h('code', {}, value)));
  const period = h('select', { name: 'for', 'aria-label': 'Silence for' }, SILENCE_FOR.map(([label]) => h('option', { value: label }, label)));
  const why = h('input', { type: 'text', name: 'silence-comment', placeholder: 'Why (required)', 'aria-label': 'Silence comment' });
  function silenced(silence) {
    return `Silenced until ${dateTime(silence.endsAt)}: new occurrences are filed but not notified.`;
  }
  const silence = h('button', { type: 'submit' }, 'Silence');
  const silenceForm = h('form', { class: 'silence', onsubmit: (e) => {
    e.preventDefault();
    const chosen = Object.fromEntries(checks.map((c) => c.querySelector('input')).filter((c) => c.checked).map((c) => [c.name, c.value]));
    if (Object.keys(chosen).length === 0 || !why.value.trim()) {
      mount(result, h('span', { class: 'error' }, 'A silence needs at least one matcher and a comment.'));
      return;
    }
    const ms = SILENCE_FOR.find(([label]) => label === period.value)?.[1] ?? 3_600_000;
    run(silence, () => api('/silences', { method: 'POST', body: { matchers: chosen, endsAt: new Date(Date.now() + ms).toISOString(), comment: why.value.trim() } }), silenced);
  } }, h('span', { class: 'label' }, 'Silence notifications of '), checks, ' for ', period, why, silence);

  return h('section', { class: 'actions', 'aria-label': 'Actions' },
    h('div', { class: 'lifecycle' }, comment, ack, resolve),
    silenceForm,
    result);
}

/** The audit's findings on this container that made the incident possible: it was foreseeable. */
function foreseeable(risks) {
  return h('section', { class: 'foreseeable', 'aria-label': 'Foreseeable' },
    h('h2', {}, 'This was foreseeable'),
    h('ul', {}, risks.map((r) =>
      h('li', {}, h('a', { href: `#/kb/${encodeURIComponent(r.kbId)}` }, r.kbId), ': ', r.message, h('div', { class: 'risk-fix' }, 'Fix: ', h('code', {}, r.fix))))));
}

/** The distinct notes of the evidence: what the incident means in this container's setup (its mounts, its volume's earlier node). */
function placeNotes(evidence) {
  return [...new Set(evidence.flatMap((e) => (e.note ? [e.note] : [])))];
}

function kbSection(kb, notes) {
  return h('section', { class: 'kb' },
    h('h2', {}, 'Why it happened'),
    h('p', { class: 'why' }, prose(kb.why)),
    notes.length ? [h('h2', {}, 'In this container'), notes.map((note) => h('p', { class: 'place-note' }, prose(note)))] : null,
    h('h2', {}, 'How to fix it'),
    h('ol', { class: 'fix' }, kb.fix.map((step) => h('li', {}, prose(step)))),
    kb.references?.length ? h('p', { class: 'refs' }, 'References: ', kb.references.map((r, i) => [i ? ', ' : '', h('a', { href: r.url, target: '_blank', rel: 'noopener noreferrer' }, r.title)])) : null,
  );
}

/**
 * Evidence oldest first, each with its offset from the first: the order things happened in. Of a
 * long incident the first and last pieces are kept; the count says how many between were not.
 */
function timeline(evidence, total) {
  const events = [...evidence].sort((a, b) => a.ts - b.ts || a.eventId.localeCompare(b.eventId));
  const start = events[0]?.ts ?? 0;
  const notKept = Math.max(0, total - events.length);
  return h('section', { class: 'evidence' },
    h('h2', {}, `Evidence (${total}${notKept > 0 ? `: the first and last kept, ${notKept} more not kept` : ''})`),
    h('ol', { class: 'timeline' },
      events.map((e) =>
        h('li', { class: `kind-${e.kind}` },
          h('div', { class: 'when' }, time(new Date(e.ts).toISOString(), clock(e.ts)),
            e.ts > start ? h('span', { class: 'muted' }, ` +${duration(e.ts - start)}`) : null),
          h('div', { class: 'what' },
            h('span', { class: 'badge kind' }, e.kind), ' ', h('span', { class: 'muted' }, e.source),
            e.action ? [' ', h('code', {}, e.action)] : null,
            e.exitCode !== undefined ? [' ', h('span', { class: 'muted' }, `exit ${e.exitCode}`)] : null,
            ' ', h('span', { class: 'muted detector' }, e.detector),
            h('pre', { class: 'line' }, e.message))))),
  );
}

/** What differs from the container's last start that ran cleanly for a while. */
function changes(list) {
  return h('section', { class: 'changes' },
    h('h2', {}, 'What changed since the last clean run'),
    list.length === 0
      ? h('p', { class: 'muted' }, 'Nothing: same image, command, environment names, limits, restart policy, mounts and labels.')
      : h('div', { class: 'scroll' }, h('table', {},
          h('thead', {}, h('tr', {}, ['Setting', 'Before', 'Now'].map((t) => h('th', {}, t)))),
          h('tbody', {}, list.map((c) => h('tr', {}, h('td', {}, h('code', {}, c.field)), h('td', {}, c.before ?? '(none)'), h('td', {}, c.after ?? '(none)')))))),
  );
}

/** The last lines the container wrote before it died, stdout and stderr marked. */
function lastWords(tail) {
  return h('section', { class: 'last-words' },
    h('h2', {}, `Last words (${tail.lines.length} lines${tail.truncated ? ', earlier ones not kept' : ''})`),
    h('pre', { class: 'line' }, tail.lines.map((l) => `${l.stream === 'stderr' ? 'err' : 'out'} │ ${l.text}\n`).join('')),
  );
}

const OOM_SCOPES = {
  container: "the container's own memory limit",
  parent: "a parent cgroup's memory limit (not the container's own)",
  host: "the host's memory (a global OOM: no cgroup limit was reached)",
};

/** The container's memory usage against its limit up to the kill, which limit was exhausted and, for a global OOM, who held the memory. */
function memory(curve, scope, users) {
  return h('section', { class: 'memory' },
    h('h2', {}, 'Memory before the kill'),
    dl([
      ['Exhausted', scope ? OOM_SCOPES[scope] : undefined],
      ['Limit', curve ? bytes(curve.limitBytes) : undefined],
      ['Growth', curve ? `${bytes(Math.abs(curve.growthBytesPerSec))}/s${curve.growthBytesPerSec < 0 ? ' (falling)' : ''}` : undefined],
      ['From 80 % to the kill', curve?.from80ToKillMs !== undefined ? duration(curve.from80ToKillMs) : undefined],
    ]),
    curve && curve.points.length > 1 ? memoryChart(curve) : null,
    users ? memoryUsers(users) : null,
  );
}

const PROCESSES_FROM = { 'task-dump': "the kernel's task dump in its OOM report", proc: '/proc right after the kill' };

/** A global OOM's top memory users: the victim is rarely the one that ate the host's memory. */
function memoryUsers(users) {
  const containerName = (id) => users.containers.find((c) => c.id === id)?.name ?? id.slice(0, 12);
  return [
    users.containers.length
      ? [h('h3', {}, 'Top containers by memory'), h('ol', { class: 'memory-users' }, users.containers.map((c) => h('li', {}, `${c.name ?? c.id.slice(0, 12)}: ${bytes(c.bytes)}`)))]
      : null,
    users.processes.length
      ? [
          h('h3', {}, 'Top processes by resident memory'),
          h('ol', { class: 'memory-users' }, users.processes.map((p) => h('li', {}, `${p.name} (pid ${p.pid}${p.containerId ? `, in ${containerName(p.containerId)}` : ', on the host'}): ${bytes(p.rssBytes)}`))),
          h('p', { class: 'muted' }, `From ${PROCESSES_FROM[users.processesFrom]}.`),
        ]
      : null,
  ];
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  el.append(...children);
  return el;
}

/** Usage over time as an inline SVG line, the limit as a dashed line at the top. */
function memoryChart(curve) {
  const width = 480;
  const height = 120;
  const t0 = curve.points[0].t;
  const span = Math.max(1, curve.points.at(-1).t - t0);
  const top = Math.max(curve.limitBytes, ...curve.points.map((p) => p.bytes));
  const x = (t) => ((t - t0) / span) * width;
  const y = (b) => height - (b / top) * height;
  const line = curve.points.map((p) => `${x(p.t).toFixed(1)},${y(p.bytes).toFixed(1)}`).join(' ');
  return svg('svg', { class: 'memory-curve', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `Memory usage over ${duration(span)} up to the ${bytes(curve.limitBytes)} limit` },
    svg('line', { x1: 0, x2: width, y1: y(curve.limitBytes), y2: y(curve.limitBytes), stroke: 'currentColor', 'stroke-dasharray': '4 3', opacity: 0.5 }),
    svg('polyline', { points: line, fill: 'none', stroke: 'currentColor', 'stroke-width': 2 }),
  );
}

function facts(f) {
  const l = f.limits;
  return h('section', { class: 'container-facts' },
    h('h2', {}, 'Container'),
    dl([
      ['Name', f.name],
      ['Image', f.image],
      ['Memory limit', bytes(l.memory)],
      ['Memory + swap', l.memory <= 0 || l.memorySwap === -1 ? 'unlimited' : l.memorySwap > 0 ? bytes(l.memorySwap) : 'default (twice the memory limit)'],
      ['PIDs limit', l.pids > 0 ? String(l.pids) : 'unlimited'],
      ['CPUs', l.nanoCpus > 0 ? String(l.nanoCpus / 1e9) : 'unlimited'],
      ['OOM killer', l.oomKillDisable ? 'disabled (--oom-kill-disable)' : 'enabled'],
      ['Restart policy', f.restartPolicy.name ? `${f.restartPolicy.name}${f.restartPolicy.maximumRetryCount ? `:${f.restartPolicy.maximumRetryCount}` : ''}` : 'no'],
      ['State', `${f.state.status}, exit code ${f.state.exitCode}${f.state.oomKilled ? ', OOM-killed' : ''}, ${f.state.restartCount} restarts`],
      ['Health', f.health ? `${f.health.status} (failing streak ${f.health.failingStreak})` : undefined],
      ['Init', f.init ? 'yes (--init)' : 'no'],
      ['User', f.user || 'root (image default)'],
      ['Privileged', f.privileged ? 'yes' : 'no'],
      ['Network', f.networkMode],
      ['Logging', `${f.logDriver}${Object.keys(f.logOptions).length ? ` (${Object.entries(f.logOptions).map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`],
      ['Command', f.command.length ? h('code', {}, f.command.join(' ')) : undefined],
      ['Environment', f.env.length ? f.env.map((e) => e.split('=')[0]).join(', ') : undefined],
      ['Labels', Object.keys(f.labels).length ? h('ul', { class: 'labels' }, Object.entries(f.labels).map(([k, v]) => h('li', {}, h('code', {}, `${k}=${v}`)))) : undefined],
      ['Observed', time(new Date(f.observedAt).toISOString())],
    ]),
  );
}

/** Why an incident's notifications list is empty: nothing configured, no route, or not yet. */
function noneSent(routing, cause) {
  if (!routing || routing.receivers === 0) {
    return ['None sent: no receiver is configured. Set ', h('code', {}, 'FINEPRINT_NOTIFY_CONFIG'), ' to a file of receivers and routes (docs/notifications.md).'];
  }
  if (routing.routedTo.length === 0) {
    return `None sent: no route sends this incident to any of the ${routing.receivers} configured receiver${routing.receivers === 1 ? '' : 's'}.`;
  }
  if (cause) {
    return ['None sent: a consequence is held back while its cause (', incidentLink(cause), ') is unresolved, and named in the cause\'s notifications; it is sent if still open once the cause resolves.'];
  }
  return `None sent yet: it goes to ${routing.routedTo.join(', ')} once its route's group wait is over, unless a silence matches it.`;
}

function notifications(list, routing, cause) {
  return h('section', { class: 'notifications' },
    h('h2', {}, 'Notifications'),
    list.length === 0
      ? h('p', { class: 'muted none-sent' }, noneSent(routing, cause))
      : h('div', { class: 'scroll' }, h('table', {},
          h('thead', {}, h('tr', {}, ['Receiver', 'Event', 'State', 'Attempts', 'Sent', 'Last error'].map((t) => h('th', {}, t)))),
          h('tbody', {}, list.map((n) =>
            h('tr', {},
              h('td', {}, `${n.receiver} (${n.type})`),
              h('td', {}, n.event),
              h('td', {}, h('span', { class: ['state', `state-${n.state}`] }, n.state)),
              h('td', { class: 'num' }, String(n.attempts)),
              h('td', {}, n.sentAt ? time(n.sentAt) : n.lastAttemptAt ? ['tried ', time(n.lastAttemptAt)] : ''),
              h('td', { class: 'error' }, n.lastError ?? '')))))),
  );
}
