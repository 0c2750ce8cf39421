// Live updates: one event stream (GET /v1/events) for every tab of this node. A SharedWorker
// (events-worker.js) holds it and relays its events to the tabs: a browser opens six HTTP/1.1
// connections to a host, and a stream per tab would hold one each (a seventh tab would never
// load). Without SharedWorker (or when it fails to start) the tab keeps its own EventSource.
// The stream reconnects with backoff, except when the node closed it for a newer stream
// from this address (`event: closed`, more than its bound per address): then it comes back
// when the page is shown again, so two clients do not take turns. Download events carry the status itself; mesh and node
// events only a version, and the page fetches again what changed (refresh.js). Nothing polls
// on a timer.

import { resyncDownloads, upsertDownload } from './downloads.js';
import { nodeBackOnline, setLive, showBanner } from './notices.js';
import { markAllStale, refreshVisible, scheduleRefetch } from './refresh.js';
import { state } from './state.js';

// A new name when the worker's messages change: a tab of an older page keeps its own worker.
const WORKER_NAME = 'atmo-events-1';

let useWorker = typeof SharedWorker === 'function';
let port = null;
let source = null;
let backoff = 1000;
let reconnectTimer = null;
let connectedOnce = false;
/** The node closed the stream for a newer one: reconnect when the page is shown again. */
let superseded = false;
const versions = { mesh: null, node: null };
const skipFirst = { mesh: true, node: true };

export function connectEvents() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  setLive('connecting', connectedOnce ? 'reconnecting' : 'connecting');
  if (useWorker && connectWorker()) return;
  if (source) source.close();
  const es = new EventSource('/v1/events');
  source = es;
  es.addEventListener('open', () => { if (source === es) opened(false); });
  for (const type of ['download', 'mesh', 'node']) {
    es.addEventListener(type, (event) => { if (source === es) received(type, event.data); });
  }
  es.addEventListener('closed', (event) => {
    if (source !== es) return;
    es.close();
    source = null;
    closedByNode(event.data);
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    es.close();
    source = null;
    lost(backoff);
    // 1 s, 2 s, 4 s ... 30 s, with a little jitter so many tabs do not come back at once.
    reconnectTimer = setTimeout(connectEvents, backoff + Math.floor(Math.random() * 250));
    backoff = Math.min(backoff * 2, 30000);
  });
}

/** Says hello to the shared worker (started on first use); false when there is none. */
function connectWorker() {
  try {
    if (!port) {
      const worker = new SharedWorker('/ui/events-worker.js', { type: 'module', name: WORKER_NAME });
      // The worker did not start (its file, a policy): this tab keeps its own stream.
      worker.addEventListener('error', () => {
        if (!useWorker) return;
        console.warn('dashboard: the shared events worker failed; this tab keeps its own stream');
        useWorker = false;
        port = null;
        connectEvents();
      });
      port = worker.port;
      port.addEventListener('message', (message) => fromWorker(message.data || {}));
      port.start();
    }
    port.postMessage({ kind: 'hello' });
    return true;
  } catch (error) {
    console.warn('dashboard: no shared events worker', error);
    useWorker = false;
    port = null;
    return false;
  }
}

function fromWorker(message) {
  if (!useWorker) return;
  if (message.kind === 'open') opened(message.joined === true);
  else if (message.kind === 'event') received(message.type, message.data);
  else if (message.kind === 'error') lost(Number(message.retryIn) || 1000);
  else if (message.kind === 'closed') closedByNode(message.data);
}

/** The node closed the stream: more streams came from this address than it keeps, and it
 *  closed its oldest, this one. */
function closedByNode(data) {
  superseded = true;
  setLive('offline', 'paused');
  const reason = eventData(data).error || 'the node closed this page\'s event stream';
  showBanner(`Live updates paused: ${reason}. They resume when this page is shown again (or reload it).`, 'offline');
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden || !superseded) return;
  superseded = false;
  connectEvents();
});

/** The stream is open; `joined`: it was open before this tab came (its first download
 *  statuses went to the other tabs). */
function opened(joined) {
  backoff = 1000;
  superseded = false;
  skipFirst.mesh = skipFirst.node = true;
  setLive('on', 'live');
  nodeBackOnline();
  if (connectedOnce) {
    // The node may have restarted, or this page sat in the back/forward cache: everything
    // it said may have changed.
    markAllStale();
    state.modelsFingerprint = null;
    state.modelsVersion = null;
    versions.mesh = versions.node = null;
    refreshVisible();
    resyncDownloads();
  } else if (joined) {
    resyncDownloads();
  }
  connectedOnce = true;
}

function received(type, data) {
  if (type === 'download') {
    try { upsertDownload(JSON.parse(data)); } catch (error) { console.warn('dashboard: bad download event', error); }
  } else if (type === 'mesh') {
    const event = eventData(data);
    const meshChanged = changedVersion('mesh', event);
    const modelsChanged = changedModelsVersion(event);
    if (!meshChanged && !modelsChanged) return;
    // The stream's first event says where the view stands now: what the page fetched as
    // the stream opened is that already.
    if (skipFirst.mesh) { skipFirst.mesh = false; return; }
    if (modelsChanged) scheduleRefetch('models');
    // Without models_version, the peers (small) say whether the model list needs fetching
    // again (loadPeers).
    scheduleRefetch('peers');
    scheduleRefetch('page');
  } else if (type === 'node') {
    if (!changedVersion('node', eventData(data))) return;
    if (skipFirst.node) { skipFirst.node = false; return; }
    scheduleRefetch('node');
  }
}

/** The stream is lost; it comes back in about `retryIn` ms. */
function lost(retryIn) {
  setLive('offline', `reconnecting in ${Math.round(retryIn / 1000)} s`);
  showBanner(connectedOnce ? `Lost the connection to the node at ${location.host}. Reconnecting…`
    : `Cannot reach the node's events at ${location.host} yet. Retrying…`, 'offline');
}

/** Leaves the stream: a page put in the back/forward cache, or left, must not keep it (the
 *  worker closes it when its last tab is gone; a tab's own stream holds one of the
 *  browser's six connections to this host). */
export function disconnectEvents() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (port) port.postMessage({ kind: 'bye' });
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
