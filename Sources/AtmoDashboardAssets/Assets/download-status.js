// What a download's status (GET /v1/downloads, the download events) means for the page: its
// state, percentage, route and sources, the download of a model that is still running.

import { num, str } from './format.js';
import { state } from './state.js';

const FINAL = new Set(['completed', 'failed', 'cancelled']);
export const isFinal = (s) => FINAL.has(s.state);

export function percentOf(s) {
  const total = num(s.total_bytes) || 0;
  const done = num(s.bytes_done) || 0;
  if (s.state === 'completed') return 100;
  if (total <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

export function labelOfState(s) {
  if (s.paused === true) return s.paused_by === 'user' ? 'paused' : 'paused (priority)';
  return str(s.state) || 'unknown';
}

export function activeDownloadOf(modelID) {
  for (const s of state.downloads.values()) if (s.model_id === modelID && !isFinal(s)) return s;
  return null;
}

export function displayName(modelID) {
  const m = state.modelsByID.get(modelID);
  return m ? m.name : str(modelID);
}

export function routeOf(s) {
  if (s.route) return str(s.route);
  const peer = str(s.peer);
  if (!peer) return '—';
  if (/^wss?:/i.test(peer) || /relay/i.test(peer)) return /relay/i.test(peer) ? 'relay' : 'direct';
  if (/^https?:/i.test(peer)) return 'http';
  return '—';
}

export function sourcesOf(s) {
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

