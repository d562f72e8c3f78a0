// Builds the page from data without ever parsing data as HTML: text becomes text nodes, attributes
// are set one by one, links only to this page's routes or http(s). Log lines, container names and
// labels are attacker-controlled; nothing here takes markup from a string.

/** Attributes a view may set; anything else is a programming error, not data. */
const ATTRIBUTES = new Set(['id', 'type', 'name', 'value', 'placeholder', 'title', 'for', 'role', 'datetime', 'min', 'max', 'step', 'autocomplete', 'aria-label', 'aria-current', 'aria-pressed', 'colspan', 'target', 'rel']);

/** Only the page's own hash routes and web links become hrefs. */
function safeHref(href) {
  return /^#\//.test(href) || /^https?:\/\//i.test(href) ? href : undefined;
}

/**
 * h('a', {href: '#/kb', class: 'x', onclick: fn}, 'text', child...): an element with text children.
 * Boolean attributes (disabled, required, checked, hidden, selected) take true/false.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'href') {
      const href = safeHref(String(value));
      if (href) el.setAttribute('href', href);
    } else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    // As attributes, checked and selected are also the control's default: what a redraw compares with.
    else if (key === 'checked' || key === 'selected') el.toggleAttribute(key, Boolean(value));
    else if (['disabled', 'required', 'hidden', 'open'].includes(key)) el[key] = Boolean(value);
    else if (key === 'style') Object.assign(el.style, value);
    else if (ATTRIBUTES.has(key)) el.setAttribute(key, String(value));
    else throw new Error(`h(): attribute ${key} is not allowed`);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** KB prose: text with `code` spans in backticks, as text and <code> nodes (never markup). */
export function prose(text) {
  return String(text).split('`').map((part, i) => (i % 2 ? h('code', {}, part) : part));
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
