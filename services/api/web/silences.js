// The silences view (#/silences): what is silenced and until when, a form to silence more, and a
// button to end a silence early. A silenced incident is still filed and shown, only not notified.
// Creating and ending need an admin token: a read-only one sees the list alone.
import { api, ApiError, canAdmin } from './api.js';
import { h, mount } from './dom.js';
import { ago, time } from './format.js';

const DURATIONS = ['1h', '4h', '24h', '7d', '30d'];
const MATCHERS = [
  ['kb', 'KB entry', 'e.g. oom-kill or jvm-*'],
  ['container', 'Container', 'name or compose service, globs allowed'],
  ['host', 'Host', 'host name, globs allowed'],
];

function phase(silence, now) {
  if (Date.parse(silence.endsAt) <= now) return 'expired';
  return Date.parse(silence.startsAt) > now ? 'pending' : 'active';
}

export async function silenceList(root, signal) {
  const { silences } = await api('/silences', { signal });
  const now = Date.now();
  const result = h('p', { class: 'result', role: 'status' });
  const rerender = () => silenceList(root);
  const failed = (error) => mount(result, h('span', { class: 'error' }, error instanceof ApiError && error.status === 403 ? 'This needs an admin token.' : error.message));
  const current = silences.filter((s) => phase(s, now) !== 'expired');
  const expired = silences.filter((s) => phase(s, now) === 'expired');

  mount(
    root,
    h('h1', {}, 'Silences'),
    h('p', { class: 'muted' }, 'A silence stops notifications of the incidents it matches (every matcher must match) while it lasts; they are still filed and shown here.'),
    canAdmin() ? createForm(result, failed, rerender) : h('p', { class: 'muted read-only' }, 'Read-only token: silencing and ending silences need an admin token.'),
    result,
    h('h2', {}, `In force (${current.length})`),
    current.length ? table(current, now, failed, rerender) : h('p', { class: 'empty' }, 'Nothing is silenced.'),
    expired.length ? [h('h2', {}, `Ended (${expired.length})`), table(expired, now, failed, rerender)] : null,
  );
  return '/silences';
}

function createForm(result, failed, rerender) {
  const inputs = MATCHERS.map(([name, label, hint]) => h('input', { type: 'text', name, placeholder: `${label}: ${hint}`, 'aria-label': label }));
  const period = h('select', { name: 'duration', 'aria-label': 'Silence for' }, DURATIONS.map((d) => h('option', { value: d, selected: d === '4h' }, d)));
  const comment = h('input', { type: 'text', name: 'comment', placeholder: 'Why (required)', 'aria-label': 'Why' });
  const submit = h('button', { type: 'submit' }, 'Silence');
  return h('form', { class: 'silence-new', 'aria-label': 'New silence', onsubmit: async (e) => {
    e.preventDefault();
    const matchers = Object.fromEntries(inputs.filter((i) => i.value.trim()).map((i) => [i.name, i.value.trim()]));
    if (Object.keys(matchers).length === 0 || !comment.value.trim()) {
      mount(result, h('span', { class: 'error' }, 'A silence needs at least one matcher and a comment.'));
      return;
    }
    submit.disabled = true;
    try {
      const silence = await api('/silences', { method: 'POST', body: { matchers, duration: period.value, comment: comment.value.trim() } });
      await rerender();
      mount(document.querySelector('main .result') ?? result, 'Silenced until ', time(silence.endsAt), '.');
    } catch (error) {
      failed(error);
    } finally {
      submit.disabled = false;
    }
  } }, h('span', { class: 'label' }, 'Silence '), inputs, ' for ', period, comment, submit);
}

function table(silences, now, failed, rerender) {
  return h('div', { class: 'scroll' }, h('table', { class: 'silences' },
    h('thead', {}, h('tr', {}, ['Matches', 'Why', 'By', 'From', 'Until', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, silences.map((s) => {
      const state = phase(s, now);
      const end = h('button', { type: 'button', onclick: async () => {
        end.disabled = true;
        try {
          await api(`/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
          await rerender();
        } catch (error) {
          end.disabled = false;
          failed(error);
        }
      } }, state === 'expired' ? 'Delete' : 'Expire now');
      return h('tr', { class: ['silence', `silence-${state}`], dataset: { id: s.id } },
        h('td', { class: 'matchers' }, Object.entries(s.matchers).map(([k, v]) => h('div', {}, `${k} = `, h('code', {}, v)))),
        h('td', { class: 'why' }, s.comment),
        h('td', { class: 'by' }, s.createdBy),
        h('td', { class: 'from' }, time(s.startsAt)),
        h('td', { class: 'until' }, time(s.endsAt), h('div', { class: 'muted' }, state === 'expired' ? `ended ${ago(s.endsAt, now)}` : state)),
        h('td', { class: 'act' }, canAdmin() ? end : null));
    }))));
}
