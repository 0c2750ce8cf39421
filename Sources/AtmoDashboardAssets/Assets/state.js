// What the page knows: one object every view reads, and the view shown.

export const state = {
  models: null,          // [{key, kind, id, name, type, format, size, versions, providers, installed, caps}]
  modelsByID: new Map(), // model id -> item
  repositoriesSupported: true,
  peers: null,
  node: null,
  storage: null,
  limits: null,
  downloads: new Map(),  // request id -> status
  downloadOrder: [],     // request ids, first seen first
  page: null,            // { id, item, signature }: the model page shown
  sort: { key: 'name', dir: 1 },
  recentlyInstalled: new Map(), // model id -> ms: completed here, before the mesh view says so
  modelsVersion: null,     // the last mesh event's models_version; null while the node sends none
  modelsFingerprint: null, // catalogFingerprint() when the model list was last fetched for a mesh event
                           // (only while the node sends no models_version)
};

export const PRIORITIES = ['critical', 'high', 'normal', 'low'];

let view = null;

/** The view shown: models, model, downloads, peers or node (null before the first route). */
export function currentView() { return view; }

export function setCurrentView(next) { view = next; }
