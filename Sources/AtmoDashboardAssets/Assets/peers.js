// The peers view: the nodes this node knows, the mesh it is in, its relays. The peers also
// tell whether the model list changed when the node's mesh events do not say (no
// models_version): see loadPeers.

import { api } from './api.js';
import { $, append, chips, clear, h, kv, setEmpty, timeEl } from './dom.js';
import { renderDownloads } from './downloads.js';
import { arr, num, str, truncate } from './format.js';
import { refetch, scheduleRefetch } from './refresh.js';
import { currentView, state } from './state.js';

const ORIGIN_LABEL = { configured: 'configured (--peer)', lan: 'LAN (DNS-SD)', gossip: 'gossip', relay: 'relay', mesh: 'mesh' };

/** Who offers how many models: when it is the same, the model list has not changed in what
 *  it shows (names, providers), whatever else a mesh event was about. */
function catalogFingerprint(peers) {
  return peers.map((p) => `${str(p.node_id)}:${num(p.model_count) ?? 0}`).sort().join(' ');
}

const MODELS_REFRESH = 5 * 60 * 1000;

/** The longest `probe_error` shown as it is (a node of another version may say anything). */
const PROBE_ERROR_SHOWN = 80;

/** Why the peer's last `/health` probe failed, in words, next to its endpoint (as `atmo peers`
 *  says it): `timeout` (no whole answer within the probe's deadline, e.g. a peer that trickles
 *  its answers), `failed` (refused, an error status, an answer that does not decode), any other
 *  value cut to PROBE_ERROR_SHOWN characters; null when it answered or was not probed yet. */
function probeNote(p) {
  const error = truncate(p.probe_error, PROBE_ERROR_SHOWN);
  if (!error) return null;
  const [text, title] = error === 'timeout'
    ? ['no answer in time', 'Its last /health probe got no whole answer within the probe\'s deadline (a peer that trickles its answers, or does not answer).']
    : error === 'failed'
      ? ['probe failed', 'Its last /health probe failed: refused, an error status, or an answer that does not decode.']
      : [`probe failed: ${error}`, 'Its last /health probe failed.'];
  return h('div', { class: 'probe-note', 'data-testid': 'peer-probe-error', title, text });
}

export async function loadPeers() {
  const answer = await api('/v1/mesh/peers');
  state.peers = arr(answer && answer.peers);
  renderPeers();
  // Sources of downloads are named by the peers' names.
  if (currentView() === 'downloads') renderDownloads();
  // The node's mesh events say when the model list changed (models_version): events.js
  // fetches it then. An older node does not say, and most of its mesh events are a peer's
  // latency measured again: the list of a thousand models is fetched again only when who
  // offers how many changed (at once), else every 5 minutes.
  if (state.modelsVersion !== null) return;
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
    fragment.appendChild(h('tr', { 'data-testid': 'peer-row', 'data-node-id': str(p.node_id), 'data-http': str(p.http) },
      h('td', null, h('div', { class: 'pname', text: str(p.node_name) || '(no name)' }), p.http ? h('div', { class: 'mid', text: str(p.http) }) : null,
        probeNote(p)),
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

export function renderMeshAndRelays() {
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
