// Refetching: at most one fetch per kind per second, only for what the page shows. The views
// register what fetches their data (registerFetcher); events and routes ask for a refetch.

import { currentView, state } from './state.js';

const fetchers = {};
/** Per kind: { last, timer, running, again, stale }. */
export const refetch = {};

const MIN_INTERVAL = 1000;
let firstLoadRetry = 2000;
let booted = false;
let bootAction = () => {};

export function registerFetcher(kind, fetcher) {
  fetchers[kind] = fetcher;
  refetch[kind] = { last: 0, timer: null, running: false, again: false, stale: true };
}

/** What boot() starts (the event stream, the other views' data). */
export function setBootAction(action) { bootAction = action; }

/** Starts what the first paint of the model list does not need (once). */
export function boot() {
  if (booted) return;
  booted = true;
  bootAction();
}

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
export function scheduleRefetch(kind, soon = false) {
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

export async function runFetch(kind) {
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

/** Fetches every stale kind the view shown needs. */
export function refreshVisible() {
  for (const kind in refetch) if (refetch[kind].stale && wanted(kind)) scheduleRefetch(kind, true);
}

/** After a reconnect: everything the node said may have changed. */
export function markAllStale() {
  for (const kind in refetch) refetch[kind].stale = true;
}
