// Live updates: one EventSource (GET /v1/events), reconnected with backoff. Download events
// carry the status itself; mesh and node events only a version, and the page fetches again
// what changed (refresh.js). Nothing polls on a timer.

import { resyncDownloads, upsertDownload } from './downloads.js';
import { nodeBackOnline, setLive, showBanner } from './notices.js';
import { markAllStale, refreshVisible, scheduleRefetch } from './refresh.js';
import { state } from './state.js';

let source = null;
let backoff = 1000;
let reconnectTimer = null;
let connectedOnce = false;
const versions = { mesh: null, node: null };
const skipFirst = { mesh: true, node: true };

export function connectEvents() {
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
    nodeBackOnline();
    if (connectedOnce) {
      // The node may have restarted: everything it said may have changed.
      markAllStale();
      state.modelsFingerprint = null;
      state.modelsVersion = null;
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
    const data = eventData(event.data);
    const meshChanged = changedVersion('mesh', data);
    const modelsChanged = changedModelsVersion(data);
    if (!meshChanged && !modelsChanged) return;
    // The stream's first event says where the view stands now: what the page fetched as
    // the stream opened is that already.
    if (skipFirst.mesh) { skipFirst.mesh = false; return; }
    if (modelsChanged) scheduleRefetch('models');
    // Without models_version, the peers (small) say whether the model list needs fetching
    // again (loadPeers).
    scheduleRefetch('peers');
    scheduleRefetch('page');
  });
  es.addEventListener('node', (event) => {
    if (!changedVersion('node', eventData(event.data))) return;
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

/** Closes the stream: a page put in the back/forward cache, or left, must not keep one of
 *  the browser's six connections to this host (a seventh page of the node would not load). */
export function disconnectEvents() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (source) source.close();
  source = null;
}

/** An event's JSON object; an empty object when it is not one. */
function eventData(text) {
  try {
    const data = JSON.parse(text);
    return data && typeof data === 'object' ? data : {};
  } catch {
    return {};
  }
}

function changedVersion(kind, data) {
  // No version: treat as changed.
  const v = data.version ?? null;
  if (v !== null && versions[kind] === v) return false;
  versions[kind] = v;
  return true;
}

/** Whether the mesh event's models_version differs from the last one (the model list
 *  changed). A node that sends none: false, and the peers decide (loadPeers). */
function changedModelsVersion(data) {
  const v = data.models_version;
  if (v === undefined || v === null) {
    state.modelsVersion = null;
    return false;
  }
  // The first one seen counts as a change (the list may have changed meanwhile).
  const changed = state.modelsVersion !== v;
  state.modelsVersion = v;
  return changed;
}
