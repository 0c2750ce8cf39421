// Atmosphere dashboard: plain JavaScript, no build step, no framework, no network but the
// node's own API. Every string that comes from the node or its peers reaches the page through
// textContent or setAttribute (data-*, title, aria-*, value), never through innerHTML.
// Live updates come from one EventSource (GET /v1/events); nothing polls on a timer.

'use strict';

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

/** Builds an element: attrs (class, text, data-*, aria-*, plain attributes), then children
 *  (strings become text nodes; null/false are skipped). */
function h(tag, attrs, ...children) {
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

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { for (const c of child) append(el, c); return; }
  el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
function formatBytes(n) {
  n = Number(n);
  if (!Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
  const digits = i === 0 ? 0 : n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return `${n.toFixed(digits)} ${UNITS[i]}`;
}

function formatRate(bytesPerSecond) {
  const n = Number(bytesPerSecond);
  if (!Number.isFinite(n) || n <= 0) return '—';
  return `${formatBytes(n)}/s`;
}

function formatDuration(seconds) {
  const s = Math.round(Number(seconds));
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago" from a time in milliseconds since 1970. */
function relativeTime(ms) {
  if (!ms || !Number.isFinite(ms)) return 'never';
  const diff = (Date.now() - ms) / 1000;
  if (diff < 0) return 'just now';
  if (diff < 5) return 'just now';
  if (diff < 60) return `${Math.floor(diff)} s ago`;
  if (diff < 3600) return `${Math.floor(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`;
  return `${Math.floor(diff / 86400)} d ago`;
}

/** An element whose text is a relative time, refreshed by the clock below. */
function timeEl(ms, prefix = '') {
  const el = h('time', { class: 'rel', 'data-ms': String(ms || 0), 'data-prefix': prefix });
  if (ms) {
    el.setAttribute('datetime', new Date(ms).toISOString());
    el.title = new Date(ms).toLocaleString();
  }
  el.textContent = prefix + relativeTime(ms);
  return el;
}

function refreshRelativeTimes() {
  for (const el of document.querySelectorAll('time.rel')) {
    el.textContent = (el.dataset.prefix || '') + relativeTime(Number(el.dataset.ms));
  }
}

function shortID(id) { return typeof id === 'string' && id.length > 12 ? id.slice(0, 12) + '…' : String(id ?? ''); }
function str(v) { return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v); }
function arr(v) { return Array.isArray(v) ? v : []; }
function num(v) { const n = Number(v); return Number.isFinite(n) ? n : null; }

function chips(values, cls = 'chip') {
  return arr(values).map((v) => h('span', { class: cls, text: str(v) }));
}

const ORIGIN_LABEL = { configured: 'configured (--peer)', lan: 'LAN (DNS-SD)', gossip: 'gossip', relay: 'relay', mesh: 'mesh' };
const PRIORITIES = ['critical', 'high', 'normal', 'low'];

// ---------------------------------------------------------------------------------------------
// API and the error banner
// ---------------------------------------------------------------------------------------------

class APIError extends Error {
  constructor(message, status, code) { super(message); this.status = status; this.code = code; }
}

const GET_TIMEOUT = 15000;

async function api(path, options = {}) {
  // Plain GETs match the page's <link rel=preload> of the model list (same mode and credentials).
  const init = { method: options.method || 'GET', headers: {}, credentials: 'same-origin' };
  if (options.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  // A read that hangs must not hold its view forever: it fails after a while and is asked again.
  const controller = new AbortController();
  const timer = init.method === 'GET' ? setTimeout(() => controller.abort(), GET_TIMEOUT) : null;
  init.signal = controller.signal;
  let response;
  let text;
  try {
    response = await fetch(path, init);
    text = await response.text();
  } catch (error) {
    if (controller.signal.aborted) throw new APIError(`The node did not answer ${path} within ${GET_TIMEOUT / 1000} s`, 0, 'timeout');
    nodeUnreachable();
    throw new APIError('The node does not answer', 0, 'unreachable');
  } finally {
    clearTimeout(timer);
  }
  nodeReachable();
  let body = null;
  if (text) { try { body = JSON.parse(text); } catch { body = null; } }
  if (!response.ok) {
    const message = (body && (body.error || body.message || body.code)) || `${response.status} ${response.statusText}`;
    if (response.status === 401) showBanner('This dashboard needs the token that `atmo serve` prints: open the Dashboard address it shows.', 'error');
    throw new APIError(str(message), response.status, body && body.code);
  }
  return body;
}

let bannerKind = null;
function showBanner(message, kind = 'error') {
  bannerKind = kind;
  $('banner-text').textContent = message;
  $('banner').className = `banner ${kind}`;
  $('banner').hidden = false;
}
function hideBanner(kind) {
  if (kind && bannerKind !== kind) return;
  $('banner').hidden = true;
  bannerKind = null;
}

let unreachable = false;
function nodeUnreachable() {
  if (unreachable) return;
  unreachable = true;
  showBanner(`Cannot reach the node at ${location.host}. Is \`atmo serve\` still running? The page reconnects on its own.`, 'offline');
  setLive('offline', 'offline');
}
function nodeReachable() {
  if (!unreachable) return;
  unreachable = false;
  hideBanner('offline');
}

function setLive(state, text) {
  $('live').className = `live ${state}`;
  $('live-text').textContent = text;
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

const state = {
  models: null,          // [{key, kind, id, name, type, format, size, versions, providers, installed, caps}]
  modelsByID: new Map(), // model id -> item
  repositoriesSupported: true,
  peers: null,
  node: null,
  storage: null,
  limits: null,
  downloads: new Map(),  // request id -> status
  downloadOrder: [],     // request ids, first seen first
  page: null,            // { id, item, signature }: the model page shown
  sort: { key: 'name', dir: 1 },
  recentlyInstalled: new Map(), // model id -> ms: completed here, before the mesh view says so
  modelsFingerprint: null, // catalogFingerprint() when the model list was last fetched for a mesh event
};

// ---------------------------------------------------------------------------------------------
// Refetching: at most one fetch per kind per second, only for what the page shows
// ---------------------------------------------------------------------------------------------

const fetchers = {
  models: loadModels,
  peers: loadPeers,
  node: loadNode,
  page: loadPage,
};
const refetch = {};
for (const kind in fetchers) refetch[kind] = { last: 0, timer: null, running: false, again: false, stale: true };

const MIN_INTERVAL = 1000;
let firstLoadRetry = 2000;

function wanted(kind) {
  const view = currentView();
  if (kind === 'models') return view === 'models' || state.models === null;
  if (kind === 'peers') return true;
  if (kind === 'node') return view === 'node' || view === 'peers' || state.node === null;
  if (kind === 'page') return view === 'model';
  return false;
}

/** Marks `kind` stale; fetches it (now, or when a second has passed since the last fetch)
 *  when the page shows it, else when the view that shows it opens. */
function scheduleRefetch(kind, soon = false) {
  const r = refetch[kind];
  r.stale = true;
  if (!booted && kind !== 'models') return;
  // A tab in the background fetches nothing; it catches up when it is shown again.
  if (!wanted(kind) || (document.hidden && r.last > 0)) return;
  if (r.running) { r.again = true; return; }
  if (r.timer) return;
  // Peers behind another view only tell whether the model list changed: every 5 s is enough.
  const interval = kind === 'peers' && currentView() !== 'peers' ? 5000 : MIN_INTERVAL;
  const wait = r.last === 0 ? 0 : Math.max(soon ? 0 : 50, r.last + interval - performance.now());
  r.timer = setTimeout(() => { r.timer = null; runFetch(kind); }, wait);
}

async function runFetch(kind) {
  const r = refetch[kind];
  if (r.running) { r.again = true; return; }
  r.running = true;
  r.stale = false;
  r.last = performance.now();
  try {
    await fetchers[kind]();
  } catch (error) {
    if (error && error.code !== 'unreachable') console.warn(`dashboard: ${kind}:`, error);
    r.stale = true;
    // The list never came: ask again (2 s, 4 s ... 30 s) rather than wait for an event.
    if (kind === 'models' && state.models === null) {
      setTimeout(() => { if (state.models === null) runFetch('models'); }, firstLoadRetry);
      firstLoadRetry = Math.min(firstLoadRetry * 2, 30000);
    }
  } finally {
    r.running = false;
    if (r.again) { r.again = false; scheduleRefetch(kind); }
  }
}

function refreshVisible() {
  for (const kind in refetch) if (refetch[kind].stale && wanted(kind)) scheduleRefetch(kind, true);
}

// ---------------------------------------------------------------------------------------------
// Models: data
// ---------------------------------------------------------------------------------------------

function providerNames(providers) {
  const names = [];
  const seen = new Set();
  for (const p of providers) {
    const key = str(p.node_id) || str(p.node_name);
    if (seen.has(key)) continue;
    seen.add(key);
    names.push(str(p.node_name) || str(p.node_id));
  }
  return names;
}

function uniqueProviders(lists) {
  const byNode = new Map();
  for (const list of lists) for (const p of arr(list)) {
    const key = str(p.node_id) || str(p.node_name) || str(p.http);
    if (!byNode.has(key)) byNode.set(key, p);
  }
  return [...byNode.values()];
}

function compareVersions(a, b) {
  return str(b).localeCompare(str(a), undefined, { numeric: true });
}

/** Groups the mesh's (model_id, sha256) pairs by model id: one row per model. */
function groupModels(models, repositories) {
  const groups = new Map();
  for (const item of arr(models)) {
    const entry = item && item.model;
    if (!entry || typeof entry.model_id !== 'string') continue;
    const key = `m:${entry.model_id}`;
    let g = groups.get(key);
    if (!g) groups.set(key, g = { key, kind: 'model', id: entry.model_id, versions: [] });
    g.versions.push({ entry, providers: arr(item.providers), installed: item.installed === true });
  }
  for (const item of arr(repositories)) {
    const entry = item && item.repository;
    if (!entry || typeof entry.model_id !== 'string') continue;
    const key = `r:${entry.model_id}`;
    let g = groups.get(key);
    if (!g) groups.set(key, g = { key, kind: 'repository', id: entry.model_id, versions: [] });
    g.versions.push({ entry, providers: arr(item.providers), installed: item.installed === true });
  }
  const out = [];
  for (const g of groups.values()) {
    g.versions.sort((a, b) => compareVersions(a.entry.version, b.entry.version));
    const top = g.versions[0].entry;
    g.name = str(top.name) || g.id;
    g.sortName = g.name.toLowerCase();
    g.type = str(top.type) || 'unknown';
    g.format = str(top.format);
    g.size = num(top.size_bytes) ?? 0;
    g.version = str(top.version);
    g.files = g.kind === 'repository' ? arr(top.files).length : 1;
    g.providers = uniqueProviders(g.versions.map((v) => v.providers));
    g.providerNames = providerNames(g.providers);
    g.installed = g.versions.some((v) => v.installed);
    const caps = new Set();
    for (const v of g.versions) for (const c of arr(v.entry.capabilities)) caps.add(str(c));
    g.caps = [...caps];
    // What the search and filters look at, per version, as the node's own filter does
    // (GET /v1/mesh/models?search=): terms in the name, id or source_ref; type, format and
    // capability compared without case. A model shows when one of its versions matches.
    for (const v of g.versions) {
      const e = v.entry;
      v.hay = [str(e.name), str(e.model_id), str(e.source_ref)].map((x) => x.toLowerCase());
      v.type = str(e.type).toLowerCase();
      v.format = str(e.format).toLowerCase();
      v.caps = arr(e.capabilities).map((c) => str(c).toLowerCase());
    }
    g.signature = JSON.stringify([g.name, g.type, g.format, g.size, g.version, g.files, g.versions.length, g.providerNames,
      g.providers.map((p) => [p.partial === true, p.files ?? null]), g.installed, g.caps]);
    out.push(g);
  }
  return out;
}

let firstPaintMarked = false;
let modelsArrived;
const modelsReady = new Promise((resolve) => { modelsArrived = resolve; });

function fetchRepositories() {
  if (!state.repositoriesSupported) return Promise.resolve(null);
  return api('/v1/mesh/repositories').then((answer) => arr(answer && answer.repositories), (error) => {
    if (error.status === 404) state.repositoriesSupported = false;
    return null;
  });
}

const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

async function loadModels() {
  const first = state.models === null;
  const modelsPromise = api('/v1/mesh/models');
  // The first load asks for nothing else until the list is on screen (the node answers the
  // list sooner when it computes nothing else meanwhile); later ones ask for both at once.
  const reposPromise = first ? null : fetchRepositories();
  let models;
  try {
    models = await modelsPromise;
  } catch (error) {
    if (first) { showModelsError(error); boot(); modelsArrived(); }
    throw error;
  }
  if (first) {
    setModels(groupModels(models && models.models, []));
    await afterPaint();
    boot();
    const repos = await fetchRepositories();
    if (repos && repos.length) setModels(groupModels(models && models.models, repos));
    modelsArrived();
    return;
  }
  const repos = await reposPromise;
  setModels(groupModels(models && models.models, repos || []));
}

function showModelsError(error) {
  $('model-count').textContent = '0 models';
  const empty = $('models-empty');
  clear(empty);
  append(empty, [h('strong', { text: 'Could not load the models.' }), ' ', str(error.message)]);
  empty.hidden = false;
}

function setModels(list) {
  const now = Date.now();
  for (const [id, at] of state.recentlyInstalled) {
    const m = list.find((g) => g.id === id);
    if ((m && m.installed) || now - at > 120000) state.recentlyInstalled.delete(id);
  }
  for (const g of list) if (!g.installed && state.recentlyInstalled.has(g.id)) g.installed = true;
  state.models = list;
  state.modelsByID = new Map(list.map((g) => [g.id, g]));
  $('nav-models-count').textContent = String(list.length);
  rebuildFilterOptions();
  renderModelRows();
  if (!firstPaintMarked && list.length > 0) {
    firstPaintMarked = true;
    requestAnimationFrame(() => performance.mark('models-painted'));
  }
  if (currentView() === 'downloads') renderDownloadNames();
}

// ---------------------------------------------------------------------------------------------
// Models: the list
// ---------------------------------------------------------------------------------------------

const rowCache = new Map(); // key -> { signature, el, item }

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

function rebuildFilterOptions() {
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

function prioritySelect(testid = 'download-priority') {
  const select = h('select', { 'data-testid': testid, 'aria-label': 'Priority', class: 'prio' });
  for (const p of PRIORITIES) select.appendChild(h('option', { value: p, text: p }));
  select.value = 'high';
  return select;
}

function downloadControls(item, sha256) {
  const select = prioritySelect();
  const button = h('button', { type: 'button', class: 'primary', 'data-testid': 'download-button' }, 'Download');
  button.addEventListener('click', () => startDownload(item, sha256, select.value, button));
  const box = h('span', { class: 'dl-controls' }, select, button);
  updateDownloadButton(button, item);
  return box;
}

/** The download button of a model shows what the node does with it. */
function updateDownloadButton(button, item) {
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
function onModelRowsClick(event) {
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

function renderModelRows() {
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

function applyFilters() {
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
function filtersChanged(delay) {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(applyFilters, delay);
}

// ---------------------------------------------------------------------------------------------
// Downloads: start, cancel, pause, resume
// ---------------------------------------------------------------------------------------------

async function startDownload(item, sha256, priority, button) {
  const body = { model_id: item.id, priority };
  if (sha256) body.sha256 = sha256;
  if (button) button.disabled = true;
  try {
    const answer = await api('/v1/downloads', { method: 'POST', body });
    if (answer && answer.request_id && !state.downloads.has(answer.request_id)) {
      upsertDownload({ request_id: answer.request_id, model_id: item.id, sha256, state: 'queued', priority, bytes_done: 0, total_bytes: 0 });
    }
    toast(`Downloading ${item.name} (${priority})`, 'ok', '#/downloads', 'See downloads');
  } catch (error) {
    if (button) button.disabled = false;
    toast(`Could not start the download of ${item.name}: ${error.message}`, 'error');
  }
}

async function downloadAction(status, action) {
  const id = encodeURIComponent(status.request_id);
  const path = action === 'cancel' ? `/v1/downloads/${id}` : `/v1/downloads/${id}/${action}`;
  try {
    const answer = await api(path, { method: action === 'cancel' ? 'DELETE' : 'POST' });
    const changed = answer && (Array.isArray(answer.downloads) ? answer.downloads : Array.isArray(answer) ? answer : []);
    for (const s of changed) if (s && s.request_id) upsertDownload(s);
  } catch (error) {
    toast(`Could not ${action} ${displayName(status.model_id)}: ${error.message}`, 'error');
  }
}

let toastTimer = null;
function toast(message, kind = 'ok', href, linkText) {
  let el = $('toast');
  if (!el) {
    el = h('div', { id: 'toast', class: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(el);
  }
  clear(el);
  el.className = `toast ${kind}`;
  append(el, message);
  if (href) append(el, [' ', h('a', { href, text: linkText })]);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, kind === 'error' ? 9000 : 4000);
}

// ---------------------------------------------------------------------------------------------
// Downloads: the view
// ---------------------------------------------------------------------------------------------

const FINAL = new Set(['completed', 'failed', 'cancelled']);
const isFinal = (s) => FINAL.has(s.state);
const downloadRows = new Map(); // request id -> { el, parts }

function percentOf(s) {
  const total = num(s.total_bytes) || 0;
  const done = num(s.bytes_done) || 0;
  if (s.state === 'completed') return 100;
  if (total <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

function labelOfState(s) {
  if (s.paused === true) return s.paused_by === 'user' ? 'paused' : 'paused (priority)';
  return str(s.state) || 'unknown';
}

function activeDownloadOf(modelID) {
  for (const s of state.downloads.values()) if (s.model_id === modelID && !isFinal(s)) return s;
  return null;
}

function displayName(modelID) {
  const m = state.modelsByID.get(modelID);
  return m ? m.name : str(modelID);
}

function routeOf(s) {
  if (s.route) return str(s.route);
  const peer = str(s.peer);
  if (!peer) return '—';
  if (/^wss?:/i.test(peer) || /relay/i.test(peer)) return /relay/i.test(peer) ? 'relay' : 'direct';
  if (/^https?:/i.test(peer)) return 'http';
  return '—';
}

function sourcesOf(s) {
  const out = [];
  const list = Array.isArray(s.sources) ? s.sources : s.peer ? [s.peer] : [];
  const peers = state.peers || [];
  for (const src of list) {
    const url = typeof src === 'string' ? src : str(src && (src.peer || src.http || src.node_id));
    const nodeID = typeof src === 'object' && src ? str(src.node_id) : url.startsWith('relay://') ? url.slice(8) : '';
    const known = peers.find((p) => p.http && url && url.startsWith(p.http)) || (nodeID && peers.find((p) => p.node_id === nodeID));
    out.push(known ? `${str(known.node_name)} (${url})` : url);
  }
  return out.join(', ') || '—';
}

function buildDownloadRow(s) {
  const parts = {
    name: h('a', { class: 'dname' }),
    id: h('span', { class: 'mid' }),
    state: h('span', { class: 'badge' }),
    prio: h('span', { class: 'tag' }),
    progress: h('progress', { 'data-testid': 'download-progress', max: '100', value: '0' }),
    percent: h('span', { 'data-testid': 'download-percent', class: 'pct' }),
    bytes: h('span', { class: 'muted' }),
    rate: h('span', { 'data-testid': 'download-rate' }),
    eta: h('span', { 'data-testid': 'download-eta' }),
    etaLabel: h('span', { class: 'k', text: 'ETA ' }),
    route: h('span', { 'data-testid': 'download-route' }),
    sources: h('span', { 'data-testid': 'download-sources', class: 'src' }),
    files: h('span', { class: 'muted' }),
    error: h('div', { 'data-testid': 'download-error', class: 'err' }),
    pause: h('button', { type: 'button', class: 'secondary', 'data-testid': 'download-pause' }, 'Pause'),
    resume: h('button', { type: 'button', class: 'secondary', 'data-testid': 'download-resume' }, 'Resume'),
    cancel: h('button', { type: 'button', class: 'danger', 'data-testid': 'download-cancel' }, 'Cancel'),
  };
  const el = h('div', { class: 'drow', 'data-testid': 'download-row', 'data-request-id': s.request_id },
    h('div', { class: 'dtop' }, h('div', { class: 'dtitle' }, parts.name, parts.id), h('div', { class: 'dstate' }, parts.prio, parts.state)),
    h('div', { class: 'dbar' }, parts.progress, parts.percent),
    h('div', { class: 'dmeta' },
      h('span', null, parts.bytes), parts.files,
      h('span', null, h('span', { class: 'k', text: 'rate ' }), parts.rate),
      h('span', null, parts.etaLabel, parts.eta),
      h('span', null, h('span', { class: 'k', text: 'route ' }), parts.route),
      h('span', { class: 'srcwrap' }, h('span', { class: 'k', text: 'from ' }), parts.sources)),
    parts.error,
    h('div', { class: 'dact' }, parts.pause, parts.resume, parts.cancel));
  const current = () => state.downloads.get(s.request_id) || s;
  parts.pause.addEventListener('click', () => downloadAction(current(), 'pause'));
  parts.resume.addEventListener('click', () => downloadAction(current(), 'resume'));
  parts.cancel.addEventListener('click', () => downloadAction(current(), 'cancel'));
  return { el, parts };
}

function updateDownloadRow(row, s) {
  const { el, parts } = row;
  el.dataset.modelId = str(s.model_id);
  el.dataset.state = str(s.state);
  el.classList.toggle('paused', s.paused === true);
  const name = displayName(s.model_id);
  parts.name.textContent = name;
  parts.name.setAttribute('href', `#/models/${encodeURIComponent(str(s.model_id))}`);
  parts.progress.setAttribute('aria-label', `Progress of ${name}`);
  parts.pause.setAttribute('aria-label', `Pause ${name}`);
  parts.resume.setAttribute('aria-label', `Resume ${name}`);
  parts.cancel.setAttribute('aria-label', `Cancel ${name}`);
  parts.id.textContent = s.sha256 ? `${str(s.model_id)} · ${shortID(str(s.sha256))}` : str(s.model_id);
  parts.state.textContent = labelOfState(s);
  parts.state.className = `badge s-${str(s.state)}${s.paused ? ' s-paused' : ''}`;
  parts.prio.textContent = str(s.priority || 'high');
  parts.prio.hidden = !s.priority;
  const pct = percentOf(s);
  parts.progress.value = pct;
  parts.progress.textContent = `${pct}%`;
  parts.percent.textContent = `${pct}%`;
  const total = num(s.total_bytes) || 0;
  parts.bytes.textContent = total > 0 ? `${formatBytes(s.bytes_done || 0)} of ${formatBytes(total)}` : 'size not known yet';
  const filesTotal = num(s.files_total);
  parts.files.textContent = s.kind === 'repository' && filesTotal ? `${num(s.files_done) || 0} of ${filesTotal} files` : '';
  parts.files.hidden = !parts.files.textContent;
  const running = s.state === 'downloading';
  parts.rate.textContent = running ? formatRate(s.bytes_per_second) : s.state === 'completed' && num(s.seconds) > 0 ? formatRate((num(s.bytes_transferred) ?? total) / num(s.seconds)) : '—';
  const took = s.state === 'completed' && num(s.seconds) !== null;
  parts.etaLabel.textContent = took ? 'took ' : 'ETA ';
  parts.eta.textContent = running && num(s.eta_seconds) !== null ? formatDuration(s.eta_seconds) : took ? formatDuration(Math.max(1, s.seconds)) : '—';
  parts.route.textContent = routeOf(s);
  parts.sources.textContent = sourcesOf(s);
  const failed = s.state === 'failed';
  parts.error.textContent = failed ? `${str(s.error) || 'failed'}${s.error_code ? ` (${str(s.error_code)})` : ''}` : '';
  parts.error.hidden = !failed;
  const final = isFinal(s);
  // A finished download without these facts does not list dashes.
  for (const part of [parts.rate, parts.eta, parts.route, parts.sources]) part.parentElement.hidden = final && part.textContent === '—';
  parts.bytes.parentElement.hidden = final && total <= 0;
  const userPaused = s.paused === true && s.paused_by !== 'priority';
  parts.cancel.hidden = final;
  parts.pause.hidden = final || userPaused;
  parts.resume.hidden = final || !userPaused;
}

function renderDownloads() {
  const activeBox = $('downloads-active');
  const doneBox = $('downloads-done');
  const active = [], done = [];
  for (const id of state.downloadOrder) {
    const s = state.downloads.get(id);
    if (!s) continue;
    (isFinal(s) ? done : active).push(s);
  }
  done.reverse();
  const place = (box, list) => {
    let prev = null;
    for (const s of list) {
      let row = downloadRows.get(s.request_id);
      if (!row) downloadRows.set(s.request_id, row = buildDownloadRow(s));
      updateDownloadRow(row, s);
      const want = prev ? prev.nextSibling : box.firstChild;
      if (want !== row.el) box.insertBefore(row.el, want);
      prev = row.el;
    }
    while (prev ? prev.nextSibling : box.firstChild) {
      const extra = prev ? prev.nextSibling : box.firstChild;
      extra.remove();
    }
  };
  place(activeBox, active);
  place(doneBox, done.slice(0, 200));
  setEmpty($('downloads-active-empty'), active.length === 0,
    ['Nothing is downloading. Pick a model in ', h('a', { href: '#/models', text: 'Models' }), ' and press Download.']);
  setEmpty($('downloads-done-empty'), done.length === 0, ['Finished, failed and cancelled downloads stay here.']);
  $('nav-downloads-count').textContent = active.length ? String(active.length) : '';
}

function renderDownloadNames() {
  for (const [id, row] of downloadRows) {
    const s = state.downloads.get(id);
    if (s) row.parts.name.textContent = displayName(s.model_id);
  }
}

function setEmpty(el, empty, content) {
  clear(el);
  if (empty) append(el, content);
  el.hidden = !empty;
}

let downloadsDirty = false;
const dirtyModels = new Set();
function upsertDownload(s) {
  if (!s || typeof s.request_id !== 'string') return;
  const before = state.downloads.get(s.request_id);
  if (!before) {
    state.downloadOrder.push(s.request_id);
    // A tab open for days keeps the newest 500 (the node's own history is its last 100).
    if (state.downloadOrder.length > 600) pruneDownloads(500);
  }
  state.downloads.set(s.request_id, s);
  if (before && !isFinal(before) && isFinal(s)) downloadFinished(s);
  dirtyModels.add(str(s.model_id));
  if (!downloadsDirty) {
    downloadsDirty = true;
    requestAnimationFrame(flushDownloads);
  }
}

function pruneDownloads(keep) {
  const drop = [];
  for (const id of state.downloadOrder) {
    if (state.downloadOrder.length - drop.length <= keep) break;
    const s = state.downloads.get(id);
    if (s && isFinal(s)) drop.push(id);
  }
  const gone = new Set(drop);
  for (const id of drop) {
    state.downloads.delete(id);
    const row = downloadRows.get(id);
    if (row) { row.el.remove(); downloadRows.delete(id); }
  }
  state.downloadOrder = state.downloadOrder.filter((id) => !gone.has(id));
}

function flushDownloads() {
  downloadsDirty = false;
  if (currentView() === 'downloads') renderDownloads();
  else {
    let active = 0;
    for (const s of state.downloads.values()) if (!isFinal(s)) active++;
    $('nav-downloads-count').textContent = active ? String(active) : '';
  }
  for (const id of dirtyModels) {
    const item = state.modelsByID.get(id);
    if (!item) continue;
    for (const k of [`m:${id}`, `r:${id}`]) {
      const cached = rowCache.get(k);
      if (cached && cached.el) updateDownloadButton(cached.el.querySelector('[data-testid=download-button]'), cached.item);
    }
  }
  if (state.page && dirtyModels.has(state.page.id)) {
    const button = document.querySelector('#model-page [data-testid=download-button]');
    const item = state.modelsByID.get(state.page.id) || state.page.item;
    if (button && item) updateDownloadButton(button, item);
  }
  dirtyModels.clear();
}

function downloadFinished(s) {
  const name = displayName(s.model_id);
  if (s.state === 'completed') {
    state.recentlyInstalled.set(str(s.model_id), Date.now());
    const item = state.modelsByID.get(s.model_id);
    if (item && !item.installed) {
      item.installed = true;
      const cached = rowCache.get(item.key);
      if (cached && cached.el) {
        const badge = cached.el.querySelector('[data-testid=model-installed]');
        badge.textContent = 'installed';
        badge.className = 'badge ok';
        cached.signature = '';
      }
    }
    notify(`${name} is installed`, `${formatBytes(s.total_bytes)} downloaded${s.seconds ? ` in ${formatDuration(Math.max(1, s.seconds))}` : ''}.`);
    scheduleRefetch('models');
    scheduleRefetch('node');
    if (state.page && state.page.id === s.model_id) scheduleRefetch('page');
  }
}

// ---------------------------------------------------------------------------------------------
// Notifications (permission asked only on a click)
// ---------------------------------------------------------------------------------------------

function notificationsAvailable() { return typeof window.Notification === 'function'; }

/** Notifications are on only after the person pressed the button (stored in this browser);
 *  pressing it again turns them off. The permission prompt appears only on that press. */
function notificationsOn() {
  return notificationsAvailable() && window.Notification.permission === 'granted' && localStorage.getItem('atmo.notify') === 'on';
}

function updateNotifyButton() {
  const button = $('enable-notifications');
  if (!notificationsAvailable()) {
    button.textContent = 'Notifications not available in this browser';
    button.disabled = true;
    return;
  }
  const permission = window.Notification.permission;
  const on = notificationsOn();
  button.textContent = on ? 'Notifications on (turn off)' : permission === 'denied' ? 'Notifications blocked by the browser' : 'Notify me when downloads finish';
  button.setAttribute('aria-pressed', on ? 'true' : 'false');
  button.disabled = permission === 'denied';
}

async function enableNotifications() {
  if (!notificationsAvailable()) return;
  if (notificationsOn()) {
    localStorage.setItem('atmo.notify', 'off');
    updateNotifyButton();
    return;
  }
  localStorage.setItem('atmo.notify', 'on');
  if (window.Notification.permission !== 'granted') {
    try {
      await window.Notification.requestPermission();
    } catch { /* an old browser that takes a callback: it asked anyway */ }
  }
  updateNotifyButton();
}

function notify(title, body) {
  if (!notificationsAvailable()) return;
  if (!notificationsOn()) return;
  try {
    new window.Notification(title, { body, icon: '/ui/icon.svg', tag: `atmo-${title}` });
  } catch (error) {
    console.warn('dashboard: notification', error);
  }
}

// ---------------------------------------------------------------------------------------------
// Model page
// ---------------------------------------------------------------------------------------------

async function loadPage() {
  const page = state.page;
  if (!page) return;
  // Opened by its address: the list says whether it is a model or a repository.
  if (state.models === null) await modelsReady;
  if (state.page !== page) return;
  const id = page.id;
  const known = state.modelsByID.get(id);
  const encoded = encodeURIComponent(id);
  let kind = known ? known.kind : null;
  let versions = null;
  try {
    if (kind !== 'repository') {
      const answer = await api(`/v1/mesh/models/${encoded}`).catch((e) => { if (e.status === 404 && !kind) return null; throw e; });
      if (answer) { versions = arr(answer.models); kind = 'model'; }
    }
    if (!versions && state.repositoriesSupported) {
      const answer = await api(`/v1/mesh/repositories/${encoded}`);
      versions = arr(answer && answer.repositories);
      kind = 'repository';
    }
  } catch (error) {
    if (state.page !== page) return;
    renderPageError(id, error);
    return;
  }
  if (state.page !== page) return;
  if (!versions || versions.length === 0) { renderPageError(id, new APIError('No node of the mesh offers it now.', 404)); return; }
  // Unchanged since the last render: keep the page as it is (focus, open menus).
  const signature = JSON.stringify(versions);
  if (page.signature === signature && page.item) return;
  page.signature = signature;
  const grouped = groupModels(kind === 'model' ? versions : [], kind === 'repository' ? versions : [])[0];
  page.item = grouped;
  renderPage(grouped);
}

function renderPageError(id, error) {
  const root = $('model-page');
  clear(root);
  append(root, [h('h1', { text: id }),
    h('div', { class: 'empty' }, h('strong', { text: error.status === 404 ? 'No node of the mesh offers this model now.' : 'Could not load this model.' }), ' ', str(error.message)),
    h('div', { 'data-testid': 'model-versions', hidden: true }), h('div', { 'data-testid': 'model-providers-detail', hidden: true }),
    h('div', { 'data-testid': 'model-files', hidden: true })]);
}

function kv(pairs) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    dl.appendChild(h('dt', { text: k }));
    dl.appendChild(h('dd', null, v));
  }
  return dl;
}

function providerTable(rows, repository) {
  const table = h('table', { class: 'grid' },
    h('thead', null, h('tr', null, ...['Node', 'Version', 'Routes', 'Latency', 'Reliability', 'Load', repository ? 'Files' : 'Holds']
      .map((t) => h('th', { scope: 'col', text: t })))));
  const body = h('tbody');
  for (const { p, version, fileCount } of rows) {
    const transports = arr(p.transports).length ? arr(p.transports) : p.http ? ['http'] : [];
    const holds = repository
      ? `${num(p.files) ?? '?'} of ${fileCount}`
      : p.partial === true ? 'partial (still pulling)' : 'complete';
    const complete = repository ? num(p.files) === fileCount : p.partial !== true;
    body.appendChild(h('tr', { 'data-node-id': str(p.node_id) },
      h('td', null, h('div', { text: str(p.node_name) || str(p.node_id) }), h('div', { class: 'mid', text: [str(p.node_id), str(p.http)].filter(Boolean).join(' · ') })),
      h('td', { class: 'mono', text: version }),
      h('td', null, transports.length ? chips(transports) : h('span', { class: 'muted', text: 'none' })),
      h('td', { class: 'num', text: num(p.latency_ms) !== null ? `${num(p.latency_ms).toFixed(1)} ms` : '—' }),
      h('td', { class: 'num', text: num(p.reliability) !== null ? `${Math.round(num(p.reliability) * 100)}%` : '—' }),
      h('td', { class: 'num', text: num(p.active_transfers) !== null ? String(num(p.active_transfers)) : '—' }),
      h('td', null, h('span', { class: complete ? 'badge ok' : 'badge warn', text: holds }))));
  }
  table.appendChild(body);
  return h('div', { class: 'table-wrap' }, table);
}

function renderPage(item) {
  const root = $('model-page');
  clear(root);
  const repository = item.kind === 'repository';
  const top = item.versions[0].entry;
  document.title = `${item.name} · Atmosphere`;

  const head = h('div', { class: 'page-head' },
    h('div', null,
      h('h1', { text: item.name }),
      h('p', { class: 'mid' }, item.id, repository ? h('span', { class: 'tag', text: 'repository' }) : null,
        h('span', { 'data-testid': 'model-installed', class: item.installed ? 'badge ok' : 'badge' }, item.installed ? 'installed' : ''))),
    h('div', { class: 'page-act' }, downloadControls(item)));

  const facts = kv([
    ['Type', item.type], ['Format', item.format || '—'], ['Size', formatBytes(item.size)],
    ['Version', item.version || '—'],
    ['Source', [str(top.source), str(top.source_ref)].filter(Boolean).join(' · ')],
    ['Base model', str(top.base_model)],
    ['Context length', num(top.context_length) ? String(num(top.context_length)) : ''],
    ['Repository', repository ? `${str(top.repo_id)} @ ${shortID(str(top.revision))}${arr(top.refs).length ? ` (${arr(top.refs).join(', ')})` : ''}` : ''],
    ['Capabilities', item.caps.length ? chips(item.caps) : h('span', { class: 'muted', text: 'none listed' })],
  ]);

  const classes = arr(top.classes);
  const classCount = num(top.class_count);
  const classesBox = classes.length || classCount ? h('div', { class: 'card' }, h('h2', { text: `Classes (${classes.length || classCount})` })) : null;
  if (!classesBox) {
    // Nothing to show: the About card takes the row.
  } else if (classes.length) {
    const shown = classes.slice(0, 300);
    classesBox.appendChild(h('div', { class: 'chips' }, chips(shown)));
    if (classes.length > shown.length) classesBox.appendChild(h('p', { class: 'muted', text: `and ${classes.length - shown.length} more` }));
  } else {
    classesBox.appendChild(h('p', { class: 'muted', text: classCount ? `${classCount} classes, names not listed` : 'No classes listed (not a classifier, or the provider did not say).' }));
  }

  // Versions
  const versions = h('div', { class: 'table-wrap' });
  const vt = h('table', { class: 'grid' }, h('thead', null, h('tr', null,
    ...[repository ? 'Revision' : 'Version', repository ? 'Refs' : 'SHA-256', 'Size', 'Providers', 'Here', '']
      .map((t) => h('th', { scope: 'col', text: t, class: t === 'Size' ? 'num' : null })))));
  const vb = h('tbody');
  for (const v of item.versions) {
    const e = v.entry;
    const select = prioritySelect('version-priority');
    const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'version-download' }, 'Download this');
    const sha = repository ? undefined : str(e.sha256);
    button.addEventListener('click', () => startDownload(item, sha, select.value, button));
    vb.appendChild(h('tr', { 'data-sha256': repository ? str(e.revision) : str(e.sha256) },
      h('td', { class: 'mono', text: str(e.version) || '—' }),
      h('td', { class: 'mono', title: repository ? str(e.revision) : str(e.sha256), text: repository ? arr(e.refs).join(', ') || shortID(str(e.revision)) : shortID(str(e.sha256)) }),
      h('td', { class: 'num', text: formatBytes(e.size_bytes) }),
      h('td', { text: v.providers.length ? providerNames(v.providers).join(', ') : '—' }),
      h('td', null, v.installed ? h('span', { class: 'badge ok', text: 'installed' }) : ''),
      h('td', null, repository ? '' : h('span', { class: 'dl-controls' }, select, button))));
  }
  vt.appendChild(vb);
  versions.appendChild(vt);

  // Providers with their routes
  const providerRows = [];
  for (const v of item.versions) for (const p of v.providers) {
    providerRows.push({ p, version: str(v.entry.version) || shortID(str(v.entry.sha256 || v.entry.revision)), fileCount: arr(v.entry.files).length });
  }
  const providersBox = h('section', { 'data-testid': 'model-providers-detail', class: 'block' },
    h('h2', { text: `Providers (${uniqueProviders(item.versions.map((v) => v.providers)).length})` }));
  if (providerRows.length) providersBox.appendChild(providerTable(providerRows, repository));
  else providersBox.appendChild(h('p', { class: 'muted', text: item.installed ? 'No other node offers it; this node has it.' : 'No node offers it right now.' }));

  // Files
  const filesBox = h('section', { 'data-testid': 'model-files', class: 'block' });
  if (repository) {
    const files = arr(top.files);
    filesBox.appendChild(h('h2', { text: `Files (${files.length}, ${formatBytes(item.size)})` }));
    const ft = h('table', { class: 'grid' }, h('thead', null, h('tr', null, ...['Path', 'Size', 'SHA-256'].map((t) => h('th', { scope: 'col', text: t })))));
    const fb = h('tbody');
    for (const f of files) {
      fb.appendChild(h('tr', null, h('td', { class: 'mono', text: str(f.path) }), h('td', { class: 'num', text: formatBytes(f.size_bytes) }),
        h('td', { class: 'mono', title: str(f.sha256), text: shortID(str(f.sha256)) })));
    }
    ft.appendChild(fb);
    filesBox.appendChild(h('div', { class: 'table-wrap' }, ft));
  } else {
    filesBox.appendChild(h('h2', { text: 'File' }));
    const fileName = top.format && !str(top.model_id).toLowerCase().endsWith(`.${str(top.format).toLowerCase()}`) ? `${str(top.model_id)}.${str(top.format)}` : str(top.model_id);
    filesBox.appendChild(kv([['Name', h('span', { class: 'mono', text: fileName })], ['Size', formatBytes(top.size_bytes)],
      ['SHA-256', h('span', { class: 'mono wrap', text: str(top.sha256) })],
      ['Pieces', num(top.piece_size) ? `${formatBytes(top.piece_size)} each, verified one by one` : 'whole-file hash only']]));
  }

  append(root, [head,
    h('div', { class: classesBox ? 'cards two' : 'cards' }, h('div', { class: 'card' }, h('h2', { text: 'About' }), facts), classesBox),
    h('section', { 'data-testid': 'model-versions', class: 'block' }, h('h2', { text: `${repository ? 'Revisions' : 'Versions'} (${item.versions.length})` }), versions),
    providersBox, filesBox]);
}

// ---------------------------------------------------------------------------------------------
// Peers
// ---------------------------------------------------------------------------------------------

/** Who offers how many models: when it is the same, the model list has not changed in what
 *  it shows (names, providers), whatever else a mesh event was about. */
function catalogFingerprint(peers) {
  return peers.map((p) => `${str(p.node_id)}:${num(p.model_count) ?? 0}`).sort().join(' ');
}

const MODELS_REFRESH = 5 * 60 * 1000;

async function loadPeers() {
  const answer = await api('/v1/mesh/peers');
  state.peers = arr(answer && answer.peers);
  renderPeers();
  // Sources of downloads are named by the peers' names.
  if (currentView() === 'downloads') renderDownloads();
  // Most mesh events are a peer's latency measured again: the list of a thousand models is
  // fetched again only when who offers how many changed (at once), else every 5 minutes.
  const fingerprint = catalogFingerprint(state.peers);
  if (state.modelsFingerprint === null) {
    state.modelsFingerprint = fingerprint;
  } else if (fingerprint !== state.modelsFingerprint || performance.now() - refetch.models.last > MODELS_REFRESH) {
    state.modelsFingerprint = fingerprint;
    scheduleRefetch('models');
  }
}

function renderPeers() {
  if (!state.peers) return;
  const body = $('peer-rows');
  const peers = state.peers.slice().sort((a, b) => str(a.node_name).localeCompare(str(b.node_name)));
  const fragment = document.createDocumentFragment();
  for (const p of peers) {
    const transports = arr(p.transports).length ? arr(p.transports) : p.http ? ['http'] : [];
    const reliability = num(p.reliability);
    const rel = reliability !== null ? Math.round(reliability * 100) : null;
    fragment.appendChild(h('tr', { 'data-testid': 'peer-row', 'data-node-id': str(p.node_id) },
      h('td', null, h('div', { class: 'pname', text: str(p.node_name) || '(no name)' }), p.http ? h('div', { class: 'mid', text: str(p.http) }) : null),
      h('td', { class: 'mono', title: str(p.node_id), text: str(p.node_id) }),
      h('td', null, h('span', { class: 'tag', text: ORIGIN_LABEL[p.origin] || str(p.origin) || '—' })),
      h('td', null, transports.length ? chips(transports) : h('span', { class: 'muted', text: 'unreachable' })),
      h('td', { class: 'num', text: num(p.latency_ms) !== null ? `${num(p.latency_ms).toFixed(1)} ms` : '—' }),
      h('td', { class: 'num', text: num(p.active_transfers) !== null ? `${num(p.active_transfers)} active` : '—' }),
      h('td', { class: `num ${rel !== null && rel < 50 ? 'bad' : ''}`, text: rel !== null ? `${rel}%` : '—' }),
      h('td', { class: 'num', text: String(num(p.model_count) ?? '—') }),
      h('td', null, timeEl(num(p.last_seen) || 0))));
  }
  clear(body);
  body.appendChild(fragment);
  $('peer-table').parentElement.hidden = peers.length === 0;
  setEmpty($('peers-empty'), peers.length === 0, [h('strong', { text: 'No peers yet.' }), ' Start another node on this LAN, or ',
    h('code', { text: 'atmo serve --peer http://HOST:14750' }), ', or join a mesh with ', h('code', { text: 'atmo mesh join INVITE' }), '.']);
  $('peer-count').textContent = `${peers.length} ${peers.length === 1 ? 'peer' : 'peers'}`;
  $('nav-peers-count').textContent = peers.length ? String(peers.length) : '';
}

function renderMeshAndRelays() {
  const node = state.node;
  const mesh = $('mesh-membership');
  clear(mesh);
  if (!node) {
    append(mesh, h('p', { class: 'muted', text: 'Not known (this node does not say).' }));
  } else if (node.mesh && typeof node.mesh === 'object') {
    append(mesh, kv([['Mesh', str(node.mesh.name) || 'unnamed mesh'], ['Mesh id', h('span', { class: 'mono', text: str(node.mesh.mesh_id) })],
      ['Direct links', String(num(node.direct_links) ?? 0)]]));
  } else {
    append(mesh, [h('p', { text: 'Not in a private mesh: this node talks to every node it finds (LAN, --peer, gossip).' }),
      h('p', { class: 'muted' }, 'Create one with ', h('code', { text: 'atmo mesh create' }), ' or join with ', h('code', { text: 'atmo mesh join INVITE' }), '.'),
      kv([['Direct links', String(num(node.direct_links) ?? 0)]])]);
  }
  const relays = $('relay-list');
  clear(relays);
  const list = node ? arr(node.relays) : [];
  if (list.length === 0) {
    append(relays, h('p', { class: 'muted' }, 'No relay. Nodes behind NAT meet through one: ', h('code', { text: 'atmo serve --relay ws://HOST:8765' }), '.'));
  } else {
    for (const r of list) {
      const st = str(r.state);
      relays.appendChild(h('div', { class: 'relay', 'data-testid': 'relay-row', 'data-state': st },
        h('span', { class: `dot s-${st}` }), h('span', { class: 'mono grow', text: str(r.url) }),
        h('span', { class: 'badge', text: st || 'unknown' }),
        num(r.peers) !== null ? h('span', { class: 'muted', text: `${num(r.peers)} peers` }) : null));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// This node
// ---------------------------------------------------------------------------------------------

async function loadNode() {
  let node = null;
  try {
    node = await api('/v1/node');
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  state.node = node;
  // /v1/node carries both; a node without it answers them separately.
  const storage = node && node.storage ? node.storage : await api('/v1/storage').catch(() => null);
  const limits = node && node.limits ? node.limits : await api('/v1/limits').catch(() => null);
  state.storage = storage;
  state.limits = limits;
  renderNodeHeader();
  renderMeshAndRelays();
  renderNode();
}

function renderNodeHeader() {
  const node = state.node;
  if (!node) { $('node-title').textContent = location.host; return; }
  $('node-title').textContent = `${str(node.node_name) || 'node'} · ${shortID(str(node.node_id))}`;
  $('node-title').title = `${str(node.node_name)} (${str(node.node_id)})`;
  const foot = $('foot');
  clear(foot);
  append(foot, [`protocol ${str(node.version)}`, ' · ', str(node.http) || location.origin, ' · started ',
    timeEl((num(node.started_at) || 0) * 1000, '')]);
}

function limitText(v) {
  if (v === undefined || v === null || v === '') return 'unlimited';
  return str(v);
}

function renderNode() {
  const node = state.node, storage = state.storage;
  const summary = $('node-summary');
  clear(summary);
  if (node) {
    append(summary, [h('strong', { text: str(node.node_name) }), ' · ', h('span', { class: 'mono', text: str(node.node_id) }),
      ' · ', str(node.http), ' · started ', timeEl((num(node.started_at) || 0) * 1000)]);
  }
  // Storage
  if (storage) {
    const used = num(storage.used_bytes) || 0;
    const partial = num(storage.partial_bytes) || 0;
    const limit = num(storage.limit_bytes);
    const capacity = limit && limit > 0 ? limit : used + (num(storage.disk_free_bytes) || 0);
    const pct = capacity > 0 ? Math.min(100, (used / capacity) * 100) : 0;
    // used_bytes counts the partial downloads too: the bar shows them apart.
    const pctPartial = capacity > 0 ? Math.min(pct, (partial / capacity) * 100) : 0;
    $('storage-fill').style.width = `${(pct - pctPartial).toFixed(2)}%`;
    $('storage-fill').title = `Pulled models: ${formatBytes(Math.max(0, used - partial))}`;
    $('storage-partial').style.width = `${pctPartial.toFixed(2)}%`;
    $('storage-partial').title = `Partial downloads: ${formatBytes(partial)}`;
    $('storage-meter').classList.toggle('full', limit && used >= limit * 0.9);
    $('storage-meter').setAttribute('role', 'meter');
    $('storage-meter').setAttribute('aria-valuenow', String(Math.round(pct)));
    $('storage-meter').setAttribute('aria-valuemin', '0');
    $('storage-meter').setAttribute('aria-valuemax', '100');
    $('storage-meter').setAttribute('aria-label', 'Storage used');
    $('storage-used').textContent = `${formatBytes(used)} used`;
    $('storage-limit').textContent = limit ? `of ${formatBytes(limit)} limit (${Math.round(pct)}%)` : `no limit · ${formatBytes(storage.disk_free_bytes)} free on disk`;
    const kvBox = $('storage-kv');
    clear(kvBox);
    append(kvBox, kv([['Partial downloads', formatBytes(partial)], ['Free for pulls', formatBytes(storage.free_bytes)],
      ['Free on disk', formatBytes(storage.disk_free_bytes)], ['Evictable', formatBytes(storage.evictable_bytes)]]));
    const next = $('eviction-next');
    clear(next);
    const order = arr(storage.eviction_order);
    const models = arr(storage.models);
    if (order.length) {
      const first = models.find((m) => m.model_id === order[0]);
      append(next, [h('strong', { text: str(order[0]) }), first ? ` · ${formatBytes(first.size_bytes)} · last used ${relativeTime((num(first.last_used_at) || 0) * 1000)}` : '']);
      if (order.length > 1) append(next, h('p', { class: 'muted', text: `then ${order.slice(1, 6).map(str).join(', ')}${order.length > 6 ? ` and ${order.length - 6} more` : ''}` }));
    } else {
      append(next, h('span', { class: 'muted', text: !limit ? 'Nothing: no storage limit is set (atmo serve --max-storage 50GB).' : 'Nothing can be evicted (pinned, or the last copy in the mesh).' }));
    }
    const stored = $('stored-rows');
    clear(stored);
    const fragment = document.createDocumentFragment();
    for (const m of models) {
      fragment.appendChild(h('tr', { 'data-model-id': str(m.model_id) },
        h('td', null, h('a', { href: `#/models/${encodeURIComponent(str(m.model_id))}`, text: str(m.model_id) })),
        h('td', { class: 'num', text: formatBytes(m.size_bytes) }),
        h('td', null, timeEl((num(m.last_used_at) || 0) * 1000)),
        h('td', { text: m.pinned ? 'pinned' : '' }),
        h('td', { class: 'num', text: String(num(m.mesh_copies) ?? 0) }),
        h('td', { text: m.evictable ? 'yes' : 'no' })));
    }
    stored.appendChild(fragment);
    $('stored-table').parentElement.hidden = models.length === 0;
    setEmpty($('stored-empty'), models.length === 0, ['No pulled models yet; models this node offers from its own folders are not counted here.']);
  } else {
    $('storage-used').textContent = 'Storage not known';
    $('storage-limit').textContent = '';
  }
  // Bandwidth
  const bw = $('bandwidth-limits');
  clear(bw);
  const status = state.limits;
  const lim = status && status.limits && typeof status.limits === 'object' ? status.limits : status;
  if (lim) {
    const perPeer = lim.per_peer || {};
    const named = lim.peers && typeof lim.peers === 'object' ? Object.keys(lim.peers) : [];
    append(bw, kv([['Upload, all peers', limitText(lim.up)], ['Download, all peers', limitText(lim.down)],
      ['Upload per peer', limitText(perPeer.up)], ['Download per peer', limitText(perPeer.down)],
      ['Peers with their own limits', named.length ? named.map((p) => `${p}: ↑${limitText(lim.peers[p].up)} ↓${limitText(lim.peers[p].down)}`).join('; ') : 'none'],
      ['Size-class policy', str(lim.size_class_policy) || 'off'], ['Adaptive uploads', lim.adaptive_uploads ? 'on: uploads yield when delay rises' : 'off']]));
    const adaptive = status && Array.isArray(status.adaptive) ? status.adaptive : [];
    if (adaptive.length) {
      append(bw, h('p', { class: 'muted', text: `Held back now: ${adaptive.map((a) => `${str(a.peer)} ${str(a.direction)} ${str(a.rate)}`).join('; ')}` }));
    }
    append(bw, h('p', { class: 'muted' }, 'Change them with ', h('code', { text: 'atmo limits' }), ' or ', h('code', { text: 'atmo serve --limit-down 20MB/s' }), '.'));
  } else {
    append(bw, h('span', { class: 'muted', text: 'Not known.' }));
  }
  // Serving
  const serving = node ? arr(node.serving) : [];
  const body = $('serving-rows');
  clear(body);
  const fragment = document.createDocumentFragment();
  for (const s of serving) {
    const size = num(s.size_bytes);
    const sent = num(s.bytes_sent) || 0;
    const progress = size ? h('progress', { max: '100', value: String(Math.min(100, Math.floor((sent / size) * 100))) }) : null;
    fragment.appendChild(h('tr', { 'data-testid': 'serving-row', 'data-model-id': str(s.model_id) },
      h('td', null, h('div', { text: displayName(s.model_id) }), h('div', { class: 'mid', text: shortID(str(s.sha256)) })),
      h('td', { text: peerLabel(s.peer) }),
      h('td', null, h('span', { class: 'chip', text: str(s.route) || '—' })),
      h('td', null, progress, ' ', size ? `${formatBytes(sent)} of ${formatBytes(size)}` : formatBytes(sent)),
      h('td', null, timeEl((num(s.started_at) || 0) * 1000))));
  }
  body.appendChild(fragment);
  $('serving-table').parentElement.hidden = serving.length === 0;
  setEmpty($('serving-empty'), serving.length === 0, node ? ['Serving nothing right now. Uploads to other nodes show here while they run.'] : ['This node does not report what it serves.']);
}

function peerLabel(peer) {
  const p = str(peer);
  if (!p) return '—';
  const known = (state.peers || []).find((x) => x.node_id === p || x.http === p);
  return known ? `${str(known.node_name)} (${p})` : p;
}

// ---------------------------------------------------------------------------------------------
// Live events (one EventSource, reconnected with backoff)
// ---------------------------------------------------------------------------------------------

let source = null;
let backoff = 1000;
let reconnectTimer = null;
let connectedOnce = false;
const versions = { mesh: null, node: null };
const skipFirst = { mesh: true, node: true };

function connectEvents() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (source) source.close();
  setLive('connecting', connectedOnce ? 'reconnecting' : 'connecting');
  const es = new EventSource('/v1/events');
  source = es;
  es.addEventListener('open', () => {
    if (source !== es) return;
    backoff = 1000;
    skipFirst.mesh = skipFirst.node = true;
    setLive('on', 'live');
    unreachable = false;
    hideBanner('offline');
    if (connectedOnce) {
      // The node may have restarted: everything it said may have changed.
      for (const kind in refetch) refetch[kind].stale = true;
      state.modelsFingerprint = null;
      versions.mesh = versions.node = null;
      refreshVisible();
      resyncDownloads();
    }
    connectedOnce = true;
  });
  es.addEventListener('download', (event) => {
    try { upsertDownload(JSON.parse(event.data)); } catch (error) { console.warn('dashboard: bad download event', error); }
  });
  es.addEventListener('mesh', (event) => {
    if (!changedVersion('mesh', event.data)) return;
    // The stream's first event says where the view stands now: what the page fetched as
    // the stream opened is that already.
    if (skipFirst.mesh) { skipFirst.mesh = false; return; }
    // The peers (small) say whether the model list needs fetching again (loadPeers).
    scheduleRefetch('peers');
    scheduleRefetch('page');
  });
  es.addEventListener('node', (event) => {
    if (!changedVersion('node', event.data)) return;
    if (skipFirst.node) { skipFirst.node = false; return; }
    scheduleRefetch('node');
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    es.close();
    source = null;
    setLive('offline', `reconnecting in ${Math.round(backoff / 1000)} s`);
    showBanner(connectedOnce ? `Lost the connection to the node at ${location.host}. Reconnecting…`
      : `Cannot reach the node's events at ${location.host} yet. Retrying…`, 'offline');
    // 1 s, 2 s, 4 s ... 30 s, with a little jitter so many tabs do not come back at once.
    reconnectTimer = setTimeout(connectEvents, backoff + Math.floor(Math.random() * 250));
    backoff = Math.min(backoff * 2, 30000);
  });
}

/** After a reconnect: a download the node no longer lists (it restarted) is not running. */
async function resyncDownloads() {
  let answer;
  try { answer = await api('/v1/downloads'); } catch { return; }
  const listed = new Set(arr(answer && answer.downloads).map((s) => s && s.request_id));
  for (const s of arr(answer && answer.downloads)) if (s && s.request_id) upsertDownload(s);
  for (const [id, s] of state.downloads) {
    if (listed.has(id) || isFinal(s)) continue;
    state.downloads.delete(id);
    state.downloadOrder = state.downloadOrder.filter((x) => x !== id);
    const row = downloadRows.get(id);
    if (row) { row.el.remove(); downloadRows.delete(id); }
    dirtyModels.add(str(s.model_id));
  }
  if (!downloadsDirty) { downloadsDirty = true; requestAnimationFrame(flushDownloads); }
}

function changedVersion(kind, data) {
  let v = null;
  try { v = JSON.parse(data).version; } catch { /* no version: treat as changed */ }
  if (v !== null && v !== undefined && versions[kind] === v) return false;
  versions[kind] = v;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------------

const VIEWS = ['models', 'model', 'downloads', 'peers', 'node'];
let view = null;

function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [first, ...rest] = hash.split('/');
  if (first === 'models' && rest.length && rest.join('/')) {
    let id = rest.join('/');
    try { id = decodeURIComponent(id); } catch { /* keep it raw */ }
    return { view: 'model', id };
  }
  if (first === 'downloads' || first === 'peers' || first === 'node') return { view: first };
  return { view: 'models' };
}

function currentView() { return view; }

function route() {
  const r = parseRoute();
  const previous = view;
  view = r.view;
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll('.nav a')) {
    const active = a.dataset.view === view || (view === 'model' && a.dataset.view === 'models');
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = { models: 'Models', model: 'Model', downloads: 'Downloads', peers: 'Peers', node: 'This node' }[view] + ' · Atmosphere';
  if (view === 'model') {
    if (!state.page || state.page.id !== r.id) {
      state.page = { id: r.id, item: null };
      const root = $('model-page');
      clear(root);
      append(root, [h('h1', { text: state.modelsByID.get(r.id)?.name || r.id }), h('p', { class: 'muted', text: 'loading…' })]);
      refetch.page.stale = true;
      refetch.page.last = 0;
    }
  } else {
    state.page = null;
  }
  if (view === 'downloads') { renderDownloads(); updateNotifyButton(); }
  if (view === 'peers') renderMeshAndRelays();
  refreshVisible();
  if (previous !== null && previous !== view) {
    const heading = $(`view-${view}`).querySelector('h1');
    if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus({ preventScroll: true }); }
    window.scrollTo(0, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

let booted = false;

/** Starts what the first paint of the model list does not need: the event stream and the
 *  other views' data. */
function boot() {
  if (booted) return;
  booted = true;
  connectEvents();
  refreshVisible();
}

function start() {
  // The model list is the first thing the page shows: ask for it before anything else.
  view = parseRoute().view;
  runFetch('models');
  route();
  // On the models view the rest (events, this node, peers) waits for the list to paint.
  if (view !== 'models') boot();
  setTimeout(boot, 2000);

  $('model-rows').addEventListener('click', onModelRowsClick);
  $('model-search').addEventListener('input', () => filtersChanged(100));
  for (const id of ['filter-type', 'filter-format', 'filter-capability', 'filter-installed']) {
    $(id).addEventListener('change', () => filtersChanged(0));
  }
  $('model-filters').addEventListener('submit', (event) => { event.preventDefault(); applyFilters(); });
  $('model-filters').addEventListener('reset', () => setTimeout(applyFilters, 0));
  for (const button of document.querySelectorAll('button.sort')) {
    button.addEventListener('click', () => {
      const key = button.dataset.sort;
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === 'name' ? 1 : -1 };
      for (const b of document.querySelectorAll('button.sort')) b.parentElement.removeAttribute('aria-sort');
      button.parentElement.setAttribute('aria-sort', state.sort.dir === 1 ? 'ascending' : 'descending');
      if (state.models) renderModelRows();
    });
  }
  $('enable-notifications').addEventListener('click', enableNotifications);
  $('banner-close').addEventListener('click', () => hideBanner());
  window.addEventListener('hashchange', route);
  // Relative times ("3 min ago") are redrawn locally; this never touches the network.
  setInterval(() => { if (!document.hidden) refreshRelativeTimes(); }, 30000);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    refreshRelativeTimes();
    refreshVisible();
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
