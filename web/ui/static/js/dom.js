// Small DOM helpers: every page builds its elements with h(), never with
// innerHTML, so label values and annotations are always text.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  if (!attrs) return;
  for (const k in attrs) {
    const v = attrs[k];
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false || c === '') continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// h('div', {class: 'x'}, child, 'text', [more]) builds an HTML element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

// s() builds an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'class') el.setAttribute('class', v);
      else el.setAttribute(k, v);
    }
  }
  append(el, children);
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// debounce returns fn delayed until calls stop for ms.
export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// select builds a <select> from [value, label] pairs.
export function select(attrs, options, current) {
  return h('select', attrs, options.map(([v, l]) => h('option', { value: v, selected: v === current }, l)));
}

// field wraps a control with its label.
export function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control, hint ? h('span', { class: 'hint' }, hint) : null);
}

export function badge(text, kind, title) {
  return h('span', { class: 'badge ' + (kind || ''), title }, text);
}

// empty is the placeholder for a section without rows.
export function empty(text) {
  return h('div', { class: 'empty' }, text);
}

// section is a titled panel.
export function panel(title, ...children) {
  return h('section', { class: 'panel' }, title ? h('h2', null, title) : null, ...children);
}

// table builds a table from header labels and row arrays.
export function table(headers, rows, attrs) {
  return h('table', Object.assign({ class: 'tbl' }, attrs),
    h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))),
    h('tbody', null, rows));
}

// kv renders a definition list of [key, value] pairs.
export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

// fill replaces el's children, skipping null, false and undefined.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
