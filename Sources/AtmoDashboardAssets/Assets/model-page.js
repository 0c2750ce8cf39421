// The page of one model or repository (#/models/{id}): its facts, versions or revisions,
// providers with their routes, and files.

import { api, APIError } from './api.js';
import { $, append, chips, clear, h, kv } from './dom.js';
import { startDownload } from './downloads.js';
import { arr, formatBytes, num, shortID, str } from './format.js';
import { downloadControls, prioritySelect } from './model-list.js';
import { groupModels, modelsReady, providerNames, uniqueProviders } from './models.js';
import { state } from './state.js';

export async function loadPage() {
  const page = state.page;
  if (!page) return;
  // Opened by its address: the list says whether it is a model or a repository.
  if (state.models === null) await modelsReady;
  if (state.page !== page) return;
  const id = page.id;
  const known = state.modelsByID.get(id);
  const encoded = encodeURIComponent(id);
  let kind = known ? known.kind : null;
  let versions = null;
  try {
    if (kind !== 'repository') {
      const answer = await api(`/v1/mesh/models/${encoded}`).catch((e) => { if (e.status === 404 && !kind) return null; throw e; });
      if (answer) { versions = arr(answer.models); kind = 'model'; }
    }
    if (!versions && state.repositoriesSupported) {
      const answer = await api(`/v1/mesh/repositories/${encoded}`);
      versions = arr(answer && answer.repositories);
      kind = 'repository';
    }
  } catch (error) {
    if (state.page !== page) return;
    renderPageError(id, error);
    return;
  }
  if (state.page !== page) return;
  if (!versions || versions.length === 0) { renderPageError(id, new APIError('No node of the mesh offers it now.', 404)); return; }
  // Unchanged since the last render: keep the page as it is (focus, open menus).
  const signature = JSON.stringify(versions);
  if (page.signature === signature && page.item) return;
  page.signature = signature;
  const grouped = groupModels(kind === 'model' ? versions : [], kind === 'repository' ? versions : [])[0];
  page.item = grouped;
  renderPage(grouped);
}

function renderPageError(id, error) {
  const root = $('model-page');
  clear(root);
  append(root, [h('h1', { text: id }),
    h('div', { class: 'empty' }, h('strong', { text: error.status === 404 ? 'No node of the mesh offers this model now.' : 'Could not load this model.' }), ' ', str(error.message)),
    h('div', { 'data-testid': 'model-versions', hidden: true }), h('div', { 'data-testid': 'model-providers-detail', hidden: true }),
    h('div', { 'data-testid': 'model-files', hidden: true })]);
}

function providerTable(rows, repository) {
  const table = h('table', { class: 'grid' },
    h('thead', null, h('tr', null, ...['Node', 'Version', 'Routes', 'Latency', 'Reliability', 'Load', repository ? 'Files' : 'Holds']
      .map((t) => h('th', { scope: 'col', text: t })))));
  const body = h('tbody');
  for (const { p, version, fileCount } of rows) {
    const transports = arr(p.transports).length ? arr(p.transports) : p.http ? ['http'] : [];
    const holds = repository
      ? `${num(p.files) ?? '?'} of ${fileCount}`
      : p.partial === true ? 'partial (still pulling)' : 'complete';
    const complete = repository ? num(p.files) === fileCount : p.partial !== true;
    body.appendChild(h('tr', { 'data-node-id': str(p.node_id) },
      h('td', null, h('div', { text: str(p.node_name) || str(p.node_id) }), h('div', { class: 'mid', text: [str(p.node_id), str(p.http)].filter(Boolean).join(' · ') })),
      h('td', { class: 'mono', text: version }),
      h('td', null, transports.length ? chips(transports) : h('span', { class: 'muted', text: 'none' })),
      h('td', { class: 'num', text: num(p.latency_ms) !== null ? `${num(p.latency_ms).toFixed(1)} ms` : '—' }),
      h('td', { class: 'num', text: num(p.reliability) !== null ? `${Math.round(num(p.reliability) * 100)}%` : '—' }),
      h('td', { class: 'num', text: num(p.active_transfers) !== null ? String(num(p.active_transfers)) : '—' }),
      h('td', null, h('span', { class: complete ? 'badge ok' : 'badge warn', text: holds }))));
  }
  table.appendChild(body);
  return h('div', { class: 'table-wrap' }, table);
}

function renderPage(item) {
  const root = $('model-page');
  clear(root);
  const repository = item.kind === 'repository';
  const top = item.versions[0].entry;
  document.title = `${item.name} · Atmosphere`;

  const head = h('div', { class: 'page-head' },
    h('div', null,
      h('h1', { text: item.name }),
      h('p', { class: 'mid' }, item.id, repository ? h('span', { class: 'tag', text: 'repository' }) : null,
        h('span', { 'data-testid': 'model-installed', class: item.installed ? 'badge ok' : 'badge' }, item.installed ? 'installed' : ''))),
    h('div', { class: 'page-act' }, downloadControls(item)));

  const facts = kv([
    ['Type', item.type], ['Format', item.format || '—'], ['Size', formatBytes(item.size)],
    ['Version', item.version || '—'],
    ['Source', [str(top.source), str(top.source_ref)].filter(Boolean).join(' · ')],
    ['Base model', str(top.base_model)],
    ['Context length', num(top.context_length) ? String(num(top.context_length)) : ''],
    ['Repository', repository ? `${str(top.repo_id)} @ ${shortID(str(top.revision))}${arr(top.refs).length ? ` (${arr(top.refs).join(', ')})` : ''}` : ''],
    ['Capabilities', item.caps.length ? chips(item.caps) : h('span', { class: 'muted', text: 'none listed' })],
  ]);

  const classes = arr(top.classes);
  const classCount = num(top.class_count);
  const classesBox = classes.length || classCount ? h('div', { class: 'card' }, h('h2', { text: `Classes (${classes.length || classCount})` })) : null;
  if (!classesBox) {
    // Nothing to show: the About card takes the row.
  } else if (classes.length) {
    const shown = classes.slice(0, 300);
    classesBox.appendChild(h('div', { class: 'chips' }, chips(shown)));
    if (classes.length > shown.length) classesBox.appendChild(h('p', { class: 'muted', text: `and ${classes.length - shown.length} more` }));
  } else {
    classesBox.appendChild(h('p', { class: 'muted', text: classCount ? `${classCount} classes, names not listed` : 'No classes listed (not a classifier, or the provider did not say).' }));
  }

  // Versions
  const versions = h('div', { class: 'table-wrap' });
  const vt = h('table', { class: 'grid' }, h('thead', null, h('tr', null,
    ...[repository ? 'Revision' : 'Version', repository ? 'Refs' : 'SHA-256', 'Size', 'Providers', 'Here', '']
      .map((t) => h('th', { scope: 'col', text: t, class: t === 'Size' ? 'num' : null })))));
  const vb = h('tbody');
  for (const v of item.versions) {
    const e = v.entry;
    const select = prioritySelect('version-priority');
    const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'version-download' }, 'Download this');
    const sha = repository ? undefined : str(e.sha256);
    button.addEventListener('click', () => startDownload(item, sha, select.value, button));
    vb.appendChild(h('tr', { 'data-sha256': repository ? str(e.revision) : str(e.sha256) },
      h('td', { class: 'mono', text: str(e.version) || '—' }),
      h('td', { class: 'mono', title: repository ? str(e.revision) : str(e.sha256), text: repository ? arr(e.refs).join(', ') || shortID(str(e.revision)) : shortID(str(e.sha256)) }),
      h('td', { class: 'num', text: formatBytes(e.size_bytes) }),
      h('td', { text: v.providers.length ? providerNames(v.providers).join(', ') : '—' }),
      h('td', null, v.installed ? h('span', { class: 'badge ok', text: 'installed' }) : ''),
      h('td', null, repository ? '' : h('span', { class: 'dl-controls' }, select, button))));
  }
  vt.appendChild(vb);
  versions.appendChild(vt);

  // Providers with their routes
  const providerRows = [];
  for (const v of item.versions) for (const p of v.providers) {
    providerRows.push({ p, version: str(v.entry.version) || shortID(str(v.entry.sha256 || v.entry.revision)), fileCount: arr(v.entry.files).length });
  }
  const providersBox = h('section', { 'data-testid': 'model-providers-detail', class: 'block' },
    h('h2', { text: `Providers (${uniqueProviders(item.versions.map((v) => v.providers)).length})` }));
  if (providerRows.length) providersBox.appendChild(providerTable(providerRows, repository));
  else providersBox.appendChild(h('p', { class: 'muted', text: item.installed ? 'No other node offers it; this node has it.' : 'No node offers it right now.' }));

  // Files
  const filesBox = h('section', { 'data-testid': 'model-files', class: 'block' });
  if (repository) {
    const files = arr(top.files);
    filesBox.appendChild(h('h2', { text: `Files (${files.length}, ${formatBytes(item.size)})` }));
    const ft = h('table', { class: 'grid' }, h('thead', null, h('tr', null, ...['Path', 'Size', 'SHA-256'].map((t) => h('th', { scope: 'col', text: t })))));
    const fb = h('tbody');
    for (const f of files) {
      fb.appendChild(h('tr', null, h('td', { class: 'mono', text: str(f.path) }), h('td', { class: 'num', text: formatBytes(f.size_bytes) }),
        h('td', { class: 'mono', title: str(f.sha256), text: shortID(str(f.sha256)) })));
    }
    ft.appendChild(fb);
    filesBox.appendChild(h('div', { class: 'table-wrap' }, ft));
  } else {
    filesBox.appendChild(h('h2', { text: 'File' }));
    const fileName = top.format && !str(top.model_id).toLowerCase().endsWith(`.${str(top.format).toLowerCase()}`) ? `${str(top.model_id)}.${str(top.format)}` : str(top.model_id);
    filesBox.appendChild(kv([['Name', h('span', { class: 'mono', text: fileName })], ['Size', formatBytes(top.size_bytes)],
      ['SHA-256', h('span', { class: 'mono wrap', text: str(top.sha256) })],
      ['Pieces', num(top.piece_size) ? `${formatBytes(top.piece_size)} each, verified one by one` : 'whole-file hash only']]));
  }

  append(root, [head,
    h('div', { class: classesBox ? 'cards two' : 'cards' }, h('div', { class: 'card' }, h('h2', { text: 'About' }), facts), classesBox),
    h('section', { 'data-testid': 'model-versions', class: 'block' }, h('h2', { text: `${repository ? 'Revisions' : 'Versions'} (${item.versions.length})` }), versions),
    providersBox, filesBox]);
}

