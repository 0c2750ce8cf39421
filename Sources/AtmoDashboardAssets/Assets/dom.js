// Element builders. Every string that comes from the node or its peers reaches the page
// through textContent or setAttribute (data-*, title, aria-*, value), never through innerHTML.

import { arr, relativeTime, str } from './format.js';

export const $ = (id) => document.getElementById(id);

/** Builds an element: attrs (class, text, data-*, aria-*, plain attributes), then children
 *  (strings become text nodes; null/false are skipped). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const key in attrs) {
      const value = attrs[key];
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key === 'hidden') el.hidden = true;
      else if (key === 'onclick') el.addEventListener('click', value);
      else if (key === 'onchange') el.addEventListener('change', value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children) append(el, child);
  return el;
}

export function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { for (const c of child) append(el, c); return; }
  el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

/** Fills `el` with `content` when `empty`, and shows it only then. */
export function setEmpty(el, empty, content) {
  clear(el);
  if (empty) append(el, content);
  el.hidden = !empty;
}

export function chips(values, cls = 'chip') {
  return arr(values).map((v) => h('span', { class: cls, text: str(v) }));
}

/** A definition list of the pairs whose value is not empty. */
export function kv(pairs) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    dl.appendChild(h('dt', { text: k }));
    dl.appendChild(h('dd', null, v));
  }
  return dl;
}

/** An element whose text is a relative time, refreshed by refreshRelativeTimes. */
export function timeEl(ms, prefix = '') {
  const el = h('time', { class: 'rel', 'data-ms': String(ms || 0), 'data-prefix': prefix });
  if (ms) {
    el.setAttribute('datetime', new Date(ms).toISOString());
    el.title = new Date(ms).toLocaleString();
  }
  el.textContent = prefix + relativeTime(ms);
  return el;
}

export function refreshRelativeTimes() {
  for (const el of document.querySelectorAll('time.rel')) {
    el.textContent = (el.dataset.prefix || '') + relativeTime(Number(el.dataset.ms));
  }
}
