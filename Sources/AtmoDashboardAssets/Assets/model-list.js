// The models view: the list of the mesh's models (rows built from one prototype, in chunks),
// its search, filters and sort, and each row's download button.

import { $, append, clear, h } from './dom.js';
import { activeDownloadOf, labelOfState, percentOf } from './download-status.js';
import { startDownload } from './downloads.js';
import { formatBytes } from './format.js';
import { PRIORITIES, state } from './state.js';

export const rowCache = new Map(); // key -> { signature, el, item }

function fillSelect(select, values, label) {
  const current = select.value;
  const have = [...select.options].map((o) => o.value).join('\u0000');
  const want = ['', ...values].join('\u0000');
  if (have !== want) {
    clear(select);
    select.appendChild(h('option', { value: '', text: label }));
    for (const v of values) select.appendChild(h('option', { value: v, text: v }));
  }
  select.value = values.includes(current) ? current : '';
}

export function rebuildFilterOptions() {
  const types = new Set(), formats = new Set(), caps = new Set();
  for (const g of state.models) {
    for (const v of g.versions) {
      if (v.type) types.add(v.type);
      if (v.format) formats.add(v.format);
      for (const c of v.caps) caps.add(c);
    }
  }
  // A hostile catalog could name thousands: the menus keep the first 500 (search finds the rest).
  const sorted = (s) => [...s].sort((a, b) => a.localeCompare(b)).slice(0, 500);
  fillSelect($('filter-type'), sorted(types), 'All types');
  fillSelect($('filter-format'), sorted(formats), 'All formats');
  fillSelect($('filter-capability'), sorted(caps), 'All capabilities');
}

export function prioritySelect(testid = 'download-priority') {
  const select = h('select', { 'data-testid': testid, 'aria-label': 'Priority', class: 'prio' });
  for (const p of PRIORITIES) select.appendChild(h('option', { value: p, text: p }));
  select.value = 'high';
  return select;
}

export function downloadControls(item, sha256) {
  const select = prioritySelect();
  const button = h('button', { type: 'button', class: 'primary', 'data-testid': 'download-button' }, 'Download');
  button.addEventListener('click', () => startDownload(item, sha256, select.value, button));
  const box = h('span', { class: 'dl-controls' }, select, button);
  updateDownloadButton(button, item);
  return box;
}

/** The download button of a model shows what the node does with it. */
export function updateDownloadButton(button, item) {
  const active = activeDownloadOf(item.id);
  if (active) {
    button.disabled = true;
    button.textContent = active.state === 'downloading' ? `${percentOf(active)}%` : labelOfState(active);
    button.title = 'Being downloaded: see Downloads';
  } else if (item.installed) {
    button.disabled = item.providers.length === 0;
    button.textContent = 'Download';
    button.title = item.providers.length === 0 ? 'Installed here; no other node offers it' : 'Installed here; downloading fetches the version the mesh offers';
  } else {
    button.disabled = item.providers.length === 0;
    button.textContent = 'Download';
    button.title = item.providers.length === 0 ? 'No other node offers it now' : `Download ${item.name}`;
  }
  button.setAttribute('aria-label', `${button.textContent}: ${item.name}`);
}

let rowPrototype = null;

/** One row's elements, built once; every row is a deep clone of it (much faster than
 *  building 20 elements per row), filled in with textContent and data-* attributes. */
function modelRowPrototype() {
  if (rowPrototype) return rowPrototype;
  const select = prioritySelect();
  for (const option of select.options) if (option.value === 'high') option.setAttribute('selected', '');
  rowPrototype = h('div', { class: 'mrow', role: 'row', 'data-testid': 'model-row' },
    h('span', { class: 'c-name', role: 'cell' }, h('a', { class: 'mname', 'data-testid': 'model-name' }), h('span', { class: 'mid' })),
    h('span', { class: 'c-type', role: 'cell' }, h('span', { class: 'type' })),
    h('span', { class: 'c-format', role: 'cell' }),
    h('span', { class: 'c-size num', role: 'cell' }),
    h('span', { class: 'c-prov', role: 'cell' }, h('span', { 'data-testid': 'model-providers', class: 'provs' },
      h('span', { class: 'count' }), h('span', { class: 'names' }), h('span', { class: 'tag', hidden: true }, 'partial'))),
    h('span', { class: 'c-inst', role: 'cell' }, h('span', { 'data-testid': 'model-installed', class: 'badge' })),
    h('span', { class: 'c-act', role: 'cell' }, h('span', { class: 'dl-controls' }, select,
      h('button', { type: 'button', class: 'primary', 'data-testid': 'download-button' }, 'Download'))));
  return rowPrototype;
}

function buildModelRow(item) {
  const row = modelRowPrototype().cloneNode(true);
  row.dataset.modelId = item.id;
  row.dataset.kind = item.kind;
  const [cName, cType, cFormat, cSize, cProv, cInst, cAct] = row.children;
  const link = cName.firstChild;
  link.textContent = item.name;
  link.setAttribute('href', `#/models/${encodeURIComponent(item.id)}`);
  const sub = cName.lastChild;
  if (item.id !== item.name) sub.textContent = item.id;
  if (item.kind === 'repository') sub.appendChild(h('span', { class: 'tag', text: `repository · ${item.files} files` }));
  if (item.versions.length > 1) sub.appendChild(h('span', { class: 'tag', text: `${item.versions.length} versions` }));
  const type = cType.firstChild;
  type.textContent = item.type;
  type.className = `type t-${item.type.replace(/[^a-z0-9_-]/gi, '')}`;
  cFormat.textContent = item.format || '—';
  cSize.textContent = formatBytes(item.size);
  const [count, names, partial] = cProv.firstChild.children;
  if (item.providers.length === 0) {
    count.hidden = true;
    names.textContent = item.installed ? 'only here' : 'none';
  } else {
    count.textContent = String(item.providers.length);
    names.textContent = item.providerNames.join(', ');
    names.title = item.providerNames.join(', ');
    partial.hidden = !item.providers.some((p) => p.partial === true);
  }
  const installed = cInst.firstChild;
  if (item.installed) { installed.textContent = 'installed'; installed.className = 'badge ok'; }
  const button = cAct.firstChild.lastChild;
  cAct.firstChild.firstChild.setAttribute('aria-label', `Priority for ${item.name}`);
  updateDownloadButton(button, item);
  return row;
}

/** One listener for every row's download button. */
export function onModelRowsClick(event) {
  const button = event.target.closest('button[data-testid=download-button]');
  if (!button) return;
  const row = button.closest('[data-testid=model-row]');
  const cached = row && rowCache.get(`${row.dataset.kind === 'repository' ? 'r' : 'm'}:${row.dataset.modelId}`);
  if (!cached) return;
  const select = row.querySelector('select[data-testid=download-priority]');
  startDownload(cached.item, undefined, select.value, button);
}

function sortedModels() {
  const { key, dir } = state.sort;
  const list = state.models.slice();
  const byName = (a, b) => (a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (key === 'size') list.sort((a, b) => dir * (a.size - b.size) || byName(a, b));
  else if (key === 'providers') list.sort((a, b) => dir * (a.providers.length - b.providers.length) || byName(a, b));
  else list.sort((a, b) => dir * byName(a, b));
  return list;
}

/** Rows built in the frame that shows the list; the rest follow in chunks, so the first
 *  screen of a 1,000-model mesh paints at once and the page never freezes. */
const FIRST_ROWS = 30;
const CHUNK_ROWS = 100;
let renderJob = 0;

export function renderModelRows() {
  const job = ++renderJob;
  const container = $('model-rows');
  const list = sortedModels();
  const keep = new Set();
  const entries = [];
  let fresh = 0;
  for (const item of list) {
    keep.add(item.key);
    let entry = rowCache.get(item.key);
    if (entry && entry.signature === item.signature) {
      entry.item = item;
    } else {
      entry = { signature: item.signature, el: null, item, match: true };
      rowCache.set(item.key, entry);
      fresh++;
    }
    entries.push(entry);
  }
  for (const key of [...rowCache.keys()]) if (!keep.has(key)) rowCache.delete(key);
  matchAll();
  // Same rows in the same order, a few changed: swap only those (keeps focus and open selects).
  const current = container.children;
  let same = fresh <= FIRST_ROWS && current.length === entries.length;
  if (same) for (let i = 0; i < entries.length; i++) if (current[i].dataset.modelId !== entries[i].item.id) { same = false; break; }
  if (same) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (!entry.el) entry.el = buildModelRow(entry.item);
      entry.el.hidden = !entry.match;
      if (current[i] !== entry.el) current[i].replaceWith(entry.el);
    }
    showCount();
    return;
  }
  clear(container);
  let index = 0;
  const appendSome = (budget) => {
    const fragment = document.createDocumentFragment();
    while (index < entries.length) {
      const entry = entries[index];
      if (!entry.el) {
        if (budget <= 0) break;
        entry.el = buildModelRow(entry.item);
        budget--;
      }
      entry.el.hidden = !entry.match;
      fragment.appendChild(entry.el);
      index++;
    }
    container.appendChild(fragment);
  };
  appendSome(FIRST_ROWS);
  showCount();
  const more = () => {
    if (job !== renderJob) return;
    appendSome(CHUNK_ROWS);
    if (index < entries.length) setTimeout(more, 0);
  };
  if (index < entries.length) setTimeout(more, 0);
}

function currentFilters() {
  return {
    q: $('model-search').value.trim().toLowerCase(),
    type: $('filter-type').value.toLowerCase(),
    format: $('filter-format').value.toLowerCase(),
    cap: $('filter-capability').value.toLowerCase(),
    inst: $('filter-installed').value,
  };
}

/** Whether each model passes the search and filters (data only: rows not built yet
 *  get their state when they are). Returns how many pass. */
function matchAll() {
  const f = currentFilters();
  const terms = f.q ? f.q.split(/\s+/) : [];
  let shown = 0;
  for (const entry of rowCache.values()) {
    const item = entry.item;
    const ok = (!f.inst || (f.inst === 'yes') === item.installed) && item.versions.some((v) => versionMatches(v, f, terms));
    entry.match = ok;
    if (ok) shown++;
  }
  return shown;
}

function versionMatches(v, f, terms) {
  if (f.type && v.type !== f.type) return false;
  if (f.format && v.format !== f.format) return false;
  if (f.cap && !v.caps.includes(f.cap)) return false;
  for (const t of terms) if (!v.hay.some((x) => x.includes(t))) return false;
  return true;
}

export function applyFilters() {
  if (!state.models) return;
  matchAll();
  for (const entry of rowCache.values()) if (entry.el && entry.el.hidden === entry.match) entry.el.hidden = !entry.match;
  showCount();
}

function showCount() {
  let shown = 0;
  for (const entry of rowCache.values()) if (entry.match) shown++;
  const total = state.models.length;
  const noun = total === 1 ? 'model' : 'models';
  $('model-count').textContent = shown === total ? `${total} ${noun} in the mesh` : `${shown} of ${total} ${noun}`;
  const empty = $('models-empty');
  clear(empty);
  if (total === 0) {
    append(empty, [h('strong', { text: 'No models in the mesh yet.' }), h('br'),
      'Offer files with ', h('code', { text: 'atmo serve --folder PATH' }), ', or reach another node with ',
      h('code', { text: 'atmo serve --peer http://HOST:14750' }), '. Nodes on this LAN appear by themselves.']);
    empty.hidden = false;
  } else if (shown === 0) {
    append(empty, [h('strong', { text: 'No model matches these filters.' }), ' ',
      h('button', { type: 'button', class: 'link', onclick: clearFilters }, 'Clear the filters')]);
    empty.hidden = false;
  } else {
    empty.hidden = true;
  }
  $('model-list').classList.toggle('none', shown === 0);
}

function clearFilters() {
  $('model-filters').reset();
  setTimeout(applyFilters, 0);
}

let filterTimer = null;
export function filtersChanged(delay) {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(applyFilters, delay);
}

