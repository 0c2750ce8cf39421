// Atmosphere dashboard: plain JavaScript modules, no build step, no framework, no network but
// the node's own API. This module starts the page: the hash router (#/models, #/models/{id},
// #/downloads, #/peers, #/node), the listeners, and the first fetch of the model list.
//
// models.js, model-list.js    the models view          events.js   the live event stream
// model-page.js               one model's page         refresh.js  what is fetched again, when
// downloads.js,               the downloads view       api.js      the node's JSON API
//   download-status.js                                 state.js    what the page knows
// notifications.js            finished-download alerts dom.js      element builders (textContent)
// peers.js, node-view.js      the peers and node views format.js   sizes, rates, times
// notices.js                  banner, live dot, toasts

import { $, append, clear, h, refreshRelativeTimes } from './dom.js';
import { renderDownloads } from './downloads.js';
import { connectEvents, disconnectEvents } from './events.js';
import { applyFilters, filtersChanged, onModelRowsClick, renderModelRows } from './model-list.js';
import { loadPage } from './model-page.js';
import { loadModels } from './models.js';
import { loadNode } from './node-view.js';
import { hideBanner } from './notices.js';
import { enableNotifications, updateNotifyButton } from './notifications.js';
import { loadPeers, renderMeshAndRelays } from './peers.js';
import { boot, refetch, refreshVisible, registerFetcher, runFetch, setBootAction } from './refresh.js';
import { currentView, setCurrentView, state } from './state.js';

registerFetcher('models', loadModels);
registerFetcher('peers', loadPeers);
registerFetcher('node', loadNode);
registerFetcher('page', loadPage);

// What the first paint of the model list does not need: the event stream and the other
// views' data.
setBootAction(() => {
  connectEvents();
  refreshVisible();
});

const VIEWS = ['models', 'model', 'downloads', 'peers', 'node'];

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

function route() {
  const r = parseRoute();
  const previous = currentView();
  const view = r.view;
  setCurrentView(view);
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

function start() {
  // The model list is the first thing the page shows: ask for it before anything else.
  setCurrentView(parseRoute().view);
  runFetch('models');
  route();
  // On the models view the rest (events, this node, peers) waits for the list to paint.
  if (currentView() !== 'models') boot();
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
  // A page kept in the back/forward cache gives its event stream back, and takes it again
  // (with everything fetched anew: events were missed meanwhile) when it is shown.
  window.addEventListener('pagehide', disconnectEvents);
  window.addEventListener('pageshow', (event) => { if (event.persisted) connectEvents(); });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    refreshRelativeTimes();
    refreshVisible();
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
