// The node's JSON API: one fetch helper (same origin, JSON in and out, reads time out).

import { str } from './format.js';
import { nodeReachable, nodeUnreachable, showBanner } from './notices.js';

export class APIError extends Error {
  constructor(message, status, code) { super(message); this.status = status; this.code = code; }
}

const GET_TIMEOUT = 15000;

/** Asks the node for `path`; answers its JSON body, throws an APIError otherwise. */
export async function api(path, options = {}) {
  // Plain GETs match the page's <link rel=preload> of the model list (same mode and credentials).
  const init = { method: options.method || 'GET', headers: {}, credentials: 'same-origin' };
  if (options.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  // A read that hangs must not hold its view forever: it fails after a while and is asked again.
  const controller = new AbortController();
  const timer = init.method === 'GET' ? setTimeout(() => controller.abort(), GET_TIMEOUT) : null;
  init.signal = controller.signal;
  let response;
  let text;
  try {
    response = await fetch(path, init);
    text = await response.text();
  } catch (error) {
    if (controller.signal.aborted) throw new APIError(`The node did not answer ${path} within ${GET_TIMEOUT / 1000} s`, 0, 'timeout');
    nodeUnreachable();
    throw new APIError('The node does not answer', 0, 'unreachable');
  } finally {
    clearTimeout(timer);
  }
  nodeReachable();
  let body = null;
  if (text) { try { body = JSON.parse(text); } catch { body = null; } }
  if (!response.ok) {
    const message = (body && (body.error || body.message || body.code)) || `${response.status} ${response.statusText}`;
    if (response.status === 401) showBanner('This dashboard needs the token that `atmo serve` prints: open the Dashboard address it shows.', 'error');
    throw new APIError(str(message), response.status, body && body.code);
  }
  return body;
}
