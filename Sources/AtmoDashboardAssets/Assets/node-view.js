// The node view: this node's storage (used, limit, what is evicted next, pulled models),
// bandwidth limits and what it serves right now; its name in the header and footer.

import { api } from './api.js';
import { $, append, clear, h, kv, setEmpty, timeEl } from './dom.js';
import { displayName } from './download-status.js';
import { arr, formatBytes, num, relativeTime, shortID, str } from './format.js';
import { renderMeshAndRelays } from './peers.js';
import { state } from './state.js';

export async function loadNode() {
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
