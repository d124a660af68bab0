import { h, table, when, pageHead, empty, errorBox, note, pager } from '../ui.js';
import { api, qs, isAdmin } from '../api.js';

function details(d) {
  if (d === null || d === undefined || (typeof d === 'object' && !Object.keys(d).length)) return h('span', { class: 'muted' }, '—');
  const t = JSON.stringify(d);
  return h('code', { class: 'clip', style: { display: 'inline-block', maxWidth: '22rem' }, title: t }, t);
}

export async function auditPage({ el, signal }) {
  el.append(pageHead('Audit log', { sub: 'Who created, tested, rotated, used and deleted what, and when. Secrets never appear here.' }));
  if (!isAdmin()) { el.append(note('info', 'The audit log is for org admins. Ask an admin of your org if you need an entry.')); return; }
  const box = h('div');
  el.append(box);
  // Actors are "api_key:ID": show the key's name where this org still has it.
  const names = {};
  try { for (const k of (await api('/v1/api-keys?limit=1000', { signal })).items) names[`api_key:${k.id}`] = k.name; } catch (e) { if (e.name === 'AbortError') throw e; }
  const actor = (a) => (names[a] ? h('span', { title: a }, names[a], ' ', h('span', { class: 'muted small' }, '(API key)')) : h('code', {}, a));
  const cursors = [null];
  let pageNo = 0;
  async function load() {
    try {
      const data = await api('/v1/audit-log' + qs({ limit: 50, cursor: cursors[pageNo] }), { signal });
      cursors[pageNo + 1] = data.next_cursor;
      if (!data.items.length && !pageNo) { box.replaceChildren(empty('Nothing recorded yet', h('p', {}, 'Entries appear as keys, projects and runs are created or changed.'))); return; }
      box.replaceChildren(table([
        { label: 'When', cell: (a) => when(a.at), cls: 'nowrap' },
        { label: 'Actor', cell: (a) => actor(a.actor) },
        { label: 'Action', cell: (a) => h('strong', {}, a.action) },
        { label: 'Target', cell: (a) => h('span', {}, a.target_type, a.target_id ? [' ', h('code', {}, a.target_id)] : null) },
        { label: 'Details', cell: (a) => details(a.details), cls: 'hide-narrow' },
      ], data.items), pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!data.next_cursor,
        onPrev: () => { pageNo--; load(); }, onNext: () => { pageNo++; load(); } }));
    } catch (e) { if (e.name !== 'AbortError') box.replaceChildren(errorBox(e)); }
  }
  await load();
}
