// Numbers and times as the page shows them, and the coercions every answer of the node (or of
// a peer, through it) goes through before it reaches the page: nothing here trusts a type.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n) {
  n = Number(n);
  if (!Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
  const digits = i === 0 ? 0 : n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return `${n.toFixed(digits)} ${UNITS[i]}`;
}

export function formatRate(bytesPerSecond) {
  const n = Number(bytesPerSecond);
  if (!Number.isFinite(n) || n <= 0) return '—';
  return `${formatBytes(n)}/s`;
}

export function formatDuration(seconds) {
  const s = Math.round(Number(seconds));
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago" from a time in milliseconds since 1970. */
export function relativeTime(ms) {
  if (!ms || !Number.isFinite(ms)) return 'never';
  const diff = (Date.now() - ms) / 1000;
  if (diff < 0) return 'just now';
  if (diff < 5) return 'just now';
  if (diff < 60) return `${Math.floor(diff)} s ago`;
  if (diff < 3600) return `${Math.floor(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`;
  return `${Math.floor(diff / 86400)} d ago`;
}

/** `value` as one line of at most `max` characters (code points), ending in "…" when cut:
 *  a string from the network (a peer's error) can be of any length and hold line breaks. */
export function truncate(value, max) {
  const full = str(value);
  // Only the first 4 × max units are looked at, whatever the string's length.
  const head = full.slice(0, 4 * max).replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  const points = Array.from(head);
  return points.length > max || full.length > 4 * max ? points.slice(0, max - 1).join('').trimEnd() + '…' : head;
}

export function shortID(id) { return typeof id === 'string' && id.length > 12 ? id.slice(0, 12) + '…' : String(id ?? ''); }
export function str(v) { return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v); }
export function arr(v) { return Array.isArray(v) ? v : []; }
export function num(v) { const n = Number(v); return Number.isFinite(n) ? n : null; }
