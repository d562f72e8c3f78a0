// The knowledge base: every pitfall fineprint knows, why it happens and how to fix it.
import { api } from './api.js';
import { h, mount, prose } from './dom.js';

export async function kbList(root, signal) {
  const { entries } = await api('/kb', { signal });
  const list = h('ul', { class: 'kb-list' });
  const show = (filter) => {
    const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
    mount(list, entries
      .filter((e) => words.every((w) => `${e.id} ${e.title}`.toLowerCase().includes(w)))
      .map((e) => h('li', {},
        h('span', { class: ['badge', `sev-${e.severity}`] }, e.severity), ' ',
        h('a', { href: `#/kb/${encodeURIComponent(e.id)}` }, e.title), ' ',
        h('code', { class: 'muted' }, e.id))));
  };
  show('');
  mount(root,
    h('h1', {}, 'Knowledge base'),
    h('p', { class: 'muted' }, `${entries.length} entries: the Docker fine print fineprint recognises, each with why it happens and how to fix it.`),
    h('input', { type: 'search', name: 'kb-filter', placeholder: 'Filter entries', 'aria-label': 'Filter entries', oninput: (e) => show(e.currentTarget.value) }),
    list);
}

export async function kbEntry(root, id, signal) {
  const e = await api(`/kb/${encodeURIComponent(id)}`, { signal });
  mount(root,
    h('p', {}, h('a', { href: '#/kb', class: 'back' }, '← Knowledge base')),
    h('h1', {}, h('span', { class: ['badge', `sev-${e.severity}`] }, e.severity), ' ', e.title),
    h('p', { class: 'muted' }, h('code', {}, e.id), ` · ${e.talk} · `, h('a', { href: `#/incidents?kb=${encodeURIComponent(e.id)}` }, 'incidents of this entry')),
    h('section', { class: 'kb' },
      h('h2', {}, 'Why'),
      h('p', { class: 'why' }, prose(e.why)),
      h('h2', {}, 'Fix'),
      h('ol', { class: 'fix' }, e.fix.map((step) => h('li', {}, prose(step)))),
      e.today ? [h('h2', {}, 'Today'), h('p', {}, prose(e.today.holds)),
        e.today.changed.length ? h('ul', {}, e.today.changed.map((c) => h('li', {}, h('strong', {}, c.version), ': ', prose(c.what), ' ', h('a', { href: c.reference, target: '_blank', rel: 'noopener noreferrer' }, '(source)')))) : null] : null,
      e.audit?.length ? [h('h2', {}, 'What fineprint audit checks'), h('ul', {}, e.audit.map((a) => h('li', {}, prose(a))))] : null,
      h('h2', {}, 'References'),
      h('ul', { class: 'refs' }, e.references.map((r) => h('li', {}, h('a', { href: r.url, target: '_blank', rel: 'noopener noreferrer' }, r.title))))),
  );
}
