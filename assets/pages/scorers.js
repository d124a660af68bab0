import { h, table, when, pageHead, empty, errorBox, field, showFieldError, clearFieldErrors, select, projectTabs, projPath, confirmDialog, note } from '../ui.js';
import { api } from '../api.js';
import { loadProject } from './project.js';
import { agreementCell } from './review.js';

export const TYPES = {
  equals: { value: 'Paris' }, contains: { value: 'Paris' }, icontains: { value: 'paris' }, not_contains: { value: 'As an AI' },
  starts_with: { value: 'Paris' }, regex_match: { pattern: '^Paris\\b' }, levenshtein: { threshold: 0.8 }, json_valid: {},
  json_schema: { schema: { type: 'object', required: ['answer'] } }, llm_judge: { rubric: 'Is the answer correct, complete and polite?' },
  hallucination: {}, relevance: {}, coherence: {}, faithfulness: {}, answer_correctness: {}, toxicity: {},
};
const tpl = (t) => JSON.stringify(TYPES[t] || {}, null, 2);

export async function scorersPage({ params, el, signal }) {
  const project = await loadProject(params.p, signal);
  const base = `/v1/projects/${encodeURIComponent(project.id)}/scorers`;
  const listBox = h('div');
  const flash = h('div', { 'aria-live': 'polite' });

  async function load() {
    const data = await api(base + '?limit=1000', { signal });
    if (!data.items.length) {
      listBox.replaceChildren(empty('No stored scorers yet',
        h('p', {}, 'Create one above; runs name it with ', h('code', {}, '--scorer NAME'), '. Built-in types (contains, regex_match, relevance…) work without storing anything.')));
      return;
    }
    listBox.replaceChildren(table([
      { label: 'Name', cell: (sc) => h('strong', {}, sc.name) },
      { label: 'Type', cell: (sc) => h('code', {}, sc.type) },
      { label: 'Config', cell: (sc) => h('code', { class: 'clip', style: { display: 'inline-block' }, title: JSON.stringify(sc.config) }, JSON.stringify(sc.config ?? {})) },
      { label: 'Agreement with people', cell: (sc) => agreementCell(project, sc) },
      { label: 'Created', cell: (sc) => when(sc.created_at), cls: 'hide-narrow' },
      { label: '', cell: (sc) => h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete scorer ${sc.name}`, onclick: async () => {
        if (!(await confirmDialog(`Delete the scorer "${sc.name}"? Finished runs keep their scores.`))) return;
        try { await api(`${base}/${encodeURIComponent(sc.id)}`, { method: 'DELETE' }); flash.replaceChildren(note('ok', `Deleted ${sc.name}.`)); await load(); } catch (e) { flash.replaceChildren(errorBox(e)); }
      } }, 'Delete') },
    ], data.items));
  }

  const name = h('input', { type: 'text', name: 'name', required: true, placeholder: 'mentions-paris' });
  const type = select('type', Object.keys(TYPES), 'contains');
  const config = h('textarea', { name: 'config', rows: 6, spellcheck: 'false' });
  config.value = tpl('contains');
  type.addEventListener('change', () => {
    if (Object.keys(TYPES).some((t) => tpl(t) === config.value.trim()) || !config.value.trim()) config.value = tpl(type.value);
  });
  const formErr = h('div');
  const form = h('form', { class: 'card section', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    formErr.replaceChildren(); clearFieldErrors(form);
    let cfg;
    try { cfg = config.value.trim() ? JSON.parse(config.value) : {}; } catch (err) {
      showFieldError(form, { message: `config is not valid JSON: ${err.message}`, details: { field: 'config' } });
      return;
    }
    try {
      const sc = await api(base, { method: 'POST', body: { name: name.value.trim(), type: type.value, config: cfg } });
      flash.replaceChildren(note('ok', `Created scorer ${sc.name}.`));
      name.value = '';
      await load();
    } catch (err) {
      if (!showFieldError(form, err)) formErr.append(errorBox(err));
    }
  } },
  h('h2', { style: { marginTop: 0 } }, 'New scorer'),
  h('div', { class: 'form-grid' }, field('Name', name), field('Type', type),
    field('Config (JSON)', config, { cls: 'wide', hint: 'Heuristics compare the output with config.value or the item\u2019s expected; judges take rubric, model, provider, key_id, pass_threshold.' })),
  formErr,
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create scorer')));

  el.append(pageHead('Scorers', { crumbs: [h('a', { href: '/' }, 'Projects'), h('a', { href: projPath(project) }, project.name)] }),
    projectTabs(project, 'scorers'), form, flash, listBox);
  await load();
}
