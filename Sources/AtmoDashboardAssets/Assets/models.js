// The mesh's models: fetched (GET /v1/mesh/models and /v1/mesh/repositories), grouped one row
// per model id, and handed to the list (model-list.js).

import { api } from './api.js';
import { $, append, clear, h } from './dom.js';
import { renderDownloadNames } from './downloads.js';
import { arr, num, str } from './format.js';
import { rebuildFilterOptions, renderModelRows } from './model-list.js';
import { boot } from './refresh.js';
import { currentView, state } from './state.js';

export function providerNames(providers) {
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

export function uniqueProviders(lists) {
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
export function groupModels(models, repositories) {
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
/** Settles once the first model list came (or failed to). */
export const modelsReady = new Promise((resolve) => { modelsArrived = resolve; });

function fetchRepositories() {
  if (!state.repositoriesSupported) return Promise.resolve(null);
  return api('/v1/mesh/repositories').then((answer) => arr(answer && answer.repositories), (error) => {
    if (error.status === 404) state.repositoriesSupported = false;
    return null;
  });
}

const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

export async function loadModels() {
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
