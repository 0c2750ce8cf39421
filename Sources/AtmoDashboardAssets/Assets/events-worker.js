// The one event stream of every dashboard tab of this node: a SharedWorker (one per origin)
// holds the EventSource (GET /v1/events) and relays its events to the tabs. A browser opens
// six HTTP/1.1 connections to a host; with a stream per tab, six tabs held them all and a
// seventh never loaded.
//
// A tab says {kind: 'hello'} when it wants the events and {kind: 'bye'} when it leaves or
// goes into the back/forward cache. The stream is open while a tab is here: the last 'bye'
// closes it. To the tabs: {kind: 'open', joined} (joined: the stream was open already, so
// this tab missed its first download statuses; the last mesh and node events follow, as a
// fresh stream would send them), {kind: 'event', type: 'download'|'mesh'|'node', data} and
// {kind: 'error', retryIn} (the stream is lost: it reconnects in retryIn ms, 1 s, 2 s, 4 s
// ... 30 s with a little jitter) and {kind: 'closed', data} (the node closed the stream for a
// newer one from this address, `event: closed`: no reconnect until a tab says hello again).
// No imports: it runs as a module or as a classic worker.

const ports = new Set();
const TYPES = ['download', 'mesh', 'node'];
/** The last mesh and node events' data: what a new tab is told first. */
const last = new Map();
let source = null;
let connected = false;
let backoff = 1000;
let retryIn = 0;
let reconnectTimer = null;

function send(port, message) {
  try { port.postMessage(message); } catch { ports.delete(port); }
}

function broadcast(message) {
  for (const port of ports) send(port, message);
}

function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (source) source.close();
  connected = false;
  last.clear();
  const es = new EventSource('/v1/events');
  source = es;
  es.addEventListener('open', () => {
    if (source !== es) return;
    backoff = 1000;
    connected = true;
    broadcast({ kind: 'open', joined: false });
  });
  for (const type of TYPES) {
    es.addEventListener(type, (event) => {
      if (source !== es) return;
      if (type !== 'download') last.set(type, event.data);
      broadcast({ kind: 'event', type, data: event.data });
    });
  }
  es.addEventListener('closed', (event) => {
    if (source !== es) return;
    // More streams came from this address than the node keeps: coming straight back would
    // close another client's. The tabs say hello again when shown.
    disconnect();
    broadcast({ kind: 'closed', data: event.data });
  });
  es.addEventListener('error', () => {
    if (source !== es) return;
    es.close();
    source = null;
    connected = false;
    last.clear();
    retryIn = backoff;
    broadcast({ kind: 'error', retryIn });
    reconnectTimer = setTimeout(connect, backoff + Math.floor(Math.random() * 250));
    backoff = Math.min(backoff * 2, 30000);
  });
}

function disconnect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (source) source.close();
  source = null;
  connected = false;
  last.clear();
  backoff = 1000;
}

function hello(port) {
  ports.add(port);
  if (connected) {
    send(port, { kind: 'open', joined: true });
    for (const [type, data] of last) send(port, { kind: 'event', type, data });
  } else if (reconnectTimer !== null) {
    send(port, { kind: 'error', retryIn });
  } else if (source === null) {
    connect();
  }
  // Else the stream is opening: the port hears its 'open' with the others.
}

function bye(port) {
  if (!ports.delete(port)) return;
  if (ports.size === 0) disconnect();
}

self.addEventListener('connect', (event) => {
  const port = event.ports[0];
  port.addEventListener('message', (message) => {
    const kind = message.data && message.data.kind;
    if (kind === 'hello') hello(port);
    else if (kind === 'bye') bye(port);
  });
  // Browsers that tell when a port's tab is gone (a crashed tab sends no 'bye').
  port.addEventListener('close', () => bye(port));
  port.start();
});
