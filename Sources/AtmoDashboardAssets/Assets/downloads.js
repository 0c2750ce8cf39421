// The downloads view and what drives it: start, cancel, pause and resume a download; the
// rows of the downloads in progress and finished, updated from the download events.

import { api } from './api.js';
import { displayName, isFinal, labelOfState, percentOf, routeOf, sourcesOf } from './download-status.js';
import { $, h, setEmpty } from './dom.js';
import { arr, formatBytes, formatDuration, formatRate, num, shortID, str } from './format.js';
import { rowCache, updateDownloadButton } from './model-list.js';
import { toast } from './notices.js';
import { notify } from './notifications.js';
import { scheduleRefetch } from './refresh.js';
import { currentView, state } from './state.js';

const downloadRows = new Map(); // request id -> { el, parts }

export async function startDownload(item, sha256, priority, button) {
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

export function renderDownloads() {
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

export function renderDownloadNames() {
  for (const [id, row] of downloadRows) {
    const s = state.downloads.get(id);
    if (s) row.parts.name.textContent = displayName(s.model_id);
  }
}

let downloadsDirty = false;
const dirtyModels = new Set();
export function upsertDownload(s) {
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

/** After a reconnect, or on joining the tabs' shared stream: every download the node lists;
 *  one it no longer lists (it restarted) is not running. */
export async function resyncDownloads() {
  let answer;
  try { answer = await api('/v1/downloads'); } catch { return; }
  const listed = new Set(arr(answer && answer.downloads).map((s) => s && s.request_id));
  for (const s of arr(answer && answer.downloads)) {
    if (!s || !s.request_id) continue;
    // An event may have come after this answer was made: an ended download stays ended.
    const known = state.downloads.get(s.request_id);
    if (!(known && isFinal(known) && !isFinal(s))) upsertDownload(s);
  }
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
