import { h, table, when, pageHead, empty, errorBox, field, clearFieldErrors, projectTabs, projPath, confirmDialog, note, fmtInt, pager } from '../ui.js';
import { api, qs } from '../api.js';
import { loadProject } from './project.js';

const TYPES = { jsonl: 'application/x-ndjson', ndjson: 'application/x-ndjson', csv: 'text/csv', json: 'application/json' };

export async function datasetsPage({ params, el, signal }) {
  const project = await loadProject(params.p, signal);
  const base = `/v1/projects/${encodeURIComponent(project.id)}/datasets`;
  const listBox = h('div');
  const flash = h('div', { 'aria-live': 'polite' });
  const cursors = [null];
  let pageNo = 0;

  async function load() {
    const data = await api(base + qs({ limit: 50, cursor: cursors[pageNo] }), { signal });
    cursors[pageNo + 1] = data.next_cursor;
    if (!data.items.length && !pageNo) {
      listBox.replaceChildren(empty('No datasets yet',
        h('p', {}, 'Upload a .jsonl, .csv or .json file above: one item per line with input, output and optionally expected and context, e.g.'),
        h('code', {}, '{"input": "capital of France?", "output": "Paris", "expected": "Paris"}')));
      return;
    }
    listBox.replaceChildren(table([
      { label: 'Name', cell: (d) => h('a', { href: projPath(project, `/datasets/${encodeURIComponent(d.id)}`) }, h('strong', {}, d.name)) },
      { label: 'Items', cell: (d) => fmtInt(d.items), num: true },
      { label: 'Id', cell: (d) => h('code', {}, d.id), cls: 'hide-narrow' },
      { label: 'Created', cell: (d) => when(d.created_at) },
      { label: '', cell: (d) => h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete dataset ${d.name}`, onclick: async () => {
        if (!(await confirmDialog(`Delete the dataset "${d.name}"? Runs made from it keep their own copy.`))) return;
        try { await api(`${base}/${encodeURIComponent(d.id)}`, { method: 'DELETE' }); flash.replaceChildren(note('ok', `Deleted ${d.name}.`)); await load(); } catch (e) { flash.replaceChildren(errorBox(e)); }
      } }, 'Delete') },
    ], data.items), pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!data.next_cursor,
      onPrev: () => { pageNo--; load().catch((e) => listBox.replaceChildren(errorBox(e))); }, onNext: () => { pageNo++; load().catch((e) => listBox.replaceChildren(errorBox(e))); } }));
  }

  const file = h('input', { type: 'file', name: 'file', accept: '.jsonl,.ndjson,.csv,.json', required: true });
  const name = h('input', { type: 'text', name: 'name', placeholder: 'from the file name' });
  file.addEventListener('change', () => { const f = file.files[0]; if (f && !name.value) name.value = f.name.replace(/\.[^.]+$/, ''); });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const form = h('form', { class: 'card section', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    const f = file.files[0];
    const fileErr = (msg) => { const box = form.querySelector('.field[data-field="file"]'); box.classList.add('invalid'); const s = box.querySelector('.field-error'); s.textContent = msg; s.hidden = false; file.focus(); };
    if (!f) { fileErr('Choose a .jsonl, .csv or .json file.'); return; }
    const ext = f.name.split('.').pop().toLowerCase();
    const ct = TYPES[ext];
    if (!ct) { fileErr('The file must end in .jsonl, .csv or .json.'); return; }
    btn.disabled = true;
    try {
      const ds = await api(base + qs({ name: name.value.trim() || f.name.replace(/\.[^.]+$/, '') }), { method: 'POST', body: f, contentType: ct });
      flash.replaceChildren(note('ok', `Uploaded ${ds.name}: ${fmtInt(ds.items)} items.`));
      form.reset();
      pageNo = 0;
      await load();
    } catch (err) {
      const f2 = err.details && err.details.field;
      if (f2 === 'name') { const box = form.querySelector('.field[data-field="name"]'); box.classList.add('invalid'); const s = box.querySelector('.field-error'); s.textContent = err.message; s.hidden = false; }
      else fileErr(err.message);
    } finally { btn.disabled = false; }
  } },
  h('h2', { style: { marginTop: 0 } }, 'Upload a dataset'),
  h('div', { class: 'form-grid' }, field('File (.jsonl, .csv or .json)', file, { name: 'file' }), field('Name', name, { name: 'name' })),
  h('div', { class: 'form-actions' }, btn));

  el.append(pageHead('Datasets', { crumbs: [h('a', { href: '/' }, 'Projects'), h('a', { href: projPath(project) }, project.name)] }),
    projectTabs(project, 'datasets'), form, flash, listBox);
  await load();
}
