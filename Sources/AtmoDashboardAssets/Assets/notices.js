// What the page tells the person besides its views: the banner (errors, the node gone), the
// live indicator in the header, and short toasts.

import { $, append, clear, h } from './dom.js';

let bannerKind = null;

export function showBanner(message, kind = 'error') {
  bannerKind = kind;
  $('banner-text').textContent = message;
  $('banner').className = `banner ${kind}`;
  $('banner').hidden = false;
}

/** Hides the banner; with a kind, only a banner of that kind. */
export function hideBanner(kind) {
  if (kind && bannerKind !== kind) return;
  $('banner').hidden = true;
  bannerKind = null;
}

export function setLive(state, text) {
  $('live').className = `live ${state}`;
  $('live-text').textContent = text;
}

let unreachable = false;

/** A request found no node: says so once (the event stream reconnects on its own). */
export function nodeUnreachable() {
  if (unreachable) return;
  unreachable = true;
  showBanner(`Cannot reach the node at ${location.host}. Is \`atmo serve\` still running? The page reconnects on its own.`, 'offline');
  setLive('offline', 'offline');
}

/** A request got an answer: the offline banner a failed request showed goes. */
export function nodeReachable() {
  if (!unreachable) return;
  unreachable = false;
  hideBanner('offline');
}

/** The event stream is open: whatever offline banner there was goes. */
export function nodeBackOnline() {
  unreachable = false;
  hideBanner('offline');
}

let toastTimer = null;

export function toast(message, kind = 'ok', href, linkText) {
  let el = $('toast');
  if (!el) {
    el = h('div', { id: 'toast', class: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(el);
  }
  clear(el);
  el.className = `toast ${kind}`;
  append(el, message);
  if (href) append(el, [' ', h('a', { href, text: linkText })]);
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, kind === 'error' ? 9000 : 4000);
}
