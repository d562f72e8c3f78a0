// Renders the OpenAPI document this page sits next to. Every text goes in through textContent:
/* global document */
// descriptions and examples are data, never markup.
'use strict';

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

function json(value) {
  return el('pre', {}, JSON.stringify(value, null, 2));
}

/** A short type for a parameter table: `string (max 500)`, `one of: open, resolved`. */
function typeOf(schema) {
  if (!schema) return 'any';
  if (schema.$ref) return schema.$ref.split('/').pop();
  if (schema.enum) return `one of: ${schema.enum.join(', ')}`;
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' | ');
  const limits = [];
  if (schema.format) limits.push(schema.format);
  if (schema.minimum !== undefined) limits.push(`min ${schema.minimum}`);
  if (schema.maximum !== undefined) limits.push(`max ${schema.maximum}`);
  if (schema.minLength !== undefined) limits.push(`min length ${schema.minLength}`);
  if (schema.maxLength !== undefined) limits.push(`max length ${schema.maxLength}`);
  if (schema.pattern && !schema.format) limits.push(`pattern ${schema.pattern}`);
  if (schema.default !== undefined) limits.push(`default ${JSON.stringify(schema.default)}`);
  return `${schema.type || 'any'}${limits.length ? ` (${limits.join(', ')})` : ''}`;
}

function operationSection(path, method, op) {
  const scope = op['x-fineprint-scope'] || 'read';
  const section = el('section', { class: 'operation', id: op.operationId },
    el('h3', {}, el('span', { class: `method ${method}` }, method), el('code', {}, path), el('span', { class: `scope ${scope}` }, scope)),
    op.summary ? el('p', {}, op.summary) : null,
    op.description ? el('p', {}, op.description) : null,
  );
  if (op.parameters && op.parameters.length) {
    const body = el('tbody');
    for (const p of op.parameters) {
      body.append(el('tr', {}, el('td', {}, el('code', {}, p.name)), el('td', {}, p.in), el('td', {}, p.required ? 'yes' : 'no'), el('td', {}, typeOf(p.schema)), el('td', {}, p.description || '')));
    }
    section.append(el('h4', {}, 'Parameters'), el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'in'), el('th', {}, 'required'), el('th', {}, 'type'), el('th', {}, 'about'))), body));
  }
  if (op.requestBody) {
    for (const [type, media] of Object.entries(op.requestBody.content || {})) {
      section.append(el('h4', {}, `Body (${type}${op.requestBody.required ? ', required' : ''})`), json(media.schema));
    }
  }
  const responses = el('tbody');
  for (const [status, response] of Object.entries(op.responses || {})) {
    const content = Object.entries(response.content || {});
    const schemas = content.map(([type, media]) => el('details', {}, el('summary', {}, `${type}: ${typeOf(media.schema)}`), json(media.schema)));
    responses.append(el('tr', {}, el('td', { class: `status ${/^[23]/.test(status) ? 'ok' : 'error'}` }, status), el('td', {}, response.description || '', ...schemas)));
  }
  section.append(el('h4', {}, 'Responses'), el('table', {}, responses));
  return section;
}

function render(doc) {
  document.title = `${doc.info.title} ${doc.info.version}`;
  document.getElementById('title').textContent = document.title;
  const main = document.getElementById('reference');
  main.replaceChildren();
  if (doc.info.description) main.append(el('p', {}, doc.info.description));
  for (const [name, scheme] of Object.entries((doc.components && doc.components.securitySchemes) || {})) {
    main.append(el('h2', {}, 'Authentication'), el('p', {}, el('code', {}, name), `: ${scheme.scheme || scheme.type}. ${scheme.description || ''}`));
  }
  const byTag = new Map();
  for (const [path, methods] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  const index = el('ul');
  for (const [tag, ops] of byTag) {
    for (const [path, method, op] of ops) index.append(el('li', {}, el('a', { href: `#${op.operationId}` }, `${method.toUpperCase()} ${path}`)));
    main.append(el('h2', {}, tag), ...ops.map(([path, method, op]) => operationSection(path, method, op)));
  }
  main.prepend(el('nav', {}, index));
  const schemas = (doc.components && doc.components.schemas) || {};
  if (Object.keys(schemas).length) {
    main.append(el('h2', {}, 'Schemas'));
    for (const [name, schema] of Object.entries(schemas)) main.append(el('h3', { id: `schema-${name}` }, name), json(schema));
  }
}

fetch('openapi.json')
  .then((res) => {
    if (!res.ok) throw new Error(`openapi.json: HTTP ${res.status}`);
    return res.json();
  })
  .then(render)
  .catch((error) => {
    document.getElementById('reference').replaceChildren(el('p', {}, `Could not load the document: ${error.message}`));
  });
