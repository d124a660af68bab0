// A stored dataset's items, page by page (GET /v1/projects/{p}/datasets/{id}/items), each openable in full.

import { h, table, pageHead, empty, errorBox, pager, oneLine, asText, drawer, projectTabs, projPath, fmtInt } from '../ui.js';
import { api, qs } from '../api.js';
import { loadProject } from './project.js';
import { itemBody } from './results.js';

const PAGE = 50;

function openItem(row) {
  const id = row.item.id !== undefined && row.item.id !== null ? ` · id ${asText(row.item.id)}` : '';
  drawer(`Item #${row.idx}${id}`, itemBody(row.item));
}

export async function datasetItemsPage({ params, el, signal }) {
  const project = await loadProject(params.p, signal);
  const base = `/v1/projects/${encodeURIComponent(project.id)}/datasets/${encodeURIComponent(params.id)}`;
  const ds = await api(base, { signal });
  const box = h('div', { 'aria-live': 'polite' });
  el.append(pageHead(ds.name, {
    crumbs: [h('a', { href: '/' }, 'Projects'), h('a', { href: projPath(project) }, project.name), h('a', { href: projPath(project, '/datasets') }, 'Datasets')],
    sub: [`${fmtInt(ds.items)} items · `, h('code', {}, ds.id)],
    actions: [h('a', { class: 'button', href: projPath(project, '/start') }, 'Start a run')],
  }), projectTabs(project, 'datasets'), box);
  const cursors = [null];
  let pageNo = 0;
  async function load() {
    try {
      const data = await api(`${base}/items` + qs({ limit: PAGE, cursor: cursors[pageNo] }), { signal });
      cursors[pageNo + 1] = data.next_cursor;
      if (!data.items.length) { box.replaceChildren(empty(pageNo ? 'No more items' : 'This dataset has no items')); return; }
      box.replaceChildren(table([
        { label: '#', cell: (r) => h('button', { type: 'button', class: 'small', onclick: () => openItem(r), 'aria-label': `Open item ${r.idx}` }, `#${r.idx}`) },
        { label: 'Id', cell: (r) => (r.item.id !== undefined && r.item.id !== null ? oneLine(r.item.id, 24) : '—'), cls: 'hide-narrow' },
        { label: 'Input', cell: (r) => h('div', { class: 'clip' }, oneLine(r.item.input)) },
        { label: 'Output', cell: (r) => h('div', { class: 'clip' }, oneLine(r.item.output)) },
        { label: 'Expected', cell: (r) => h('div', { class: 'clip' }, oneLine(r.item.expected)), cls: 'hide-narrow' },
      ], data.items, { rowAttrs: (r) => ({ class: 'clickable', dataset: { idx: r.idx }, onclick: (e) => { if (!e.target.closest('button')) openItem(r); } }) }),
      h('div', { class: 'row', style: { alignItems: 'center' } },
        h('span', { class: 'muted small' }, `Items ${fmtInt(pageNo * PAGE)}–${fmtInt(pageNo * PAGE + data.items.length - 1)}`), h('span', { class: 'spacer' }),
        pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!data.next_cursor, label: 'Item pages',
          onPrev: () => { pageNo--; load(); }, onNext: () => { pageNo++; load(); } })));
    } catch (e) { if (e.name !== 'AbortError') box.replaceChildren(errorBox(e)); }
  }
  await load();
}
