// Start a run from the dashboard: a stored dataset, scorers (stored ones and built-in types), an optional target
// (provider, model, prompt template: items without an output get theirs from it, on servers with targets), a gate;
// then the run page, which follows its progress live.

import { h, pageHead, empty, errorBox, field, showFieldError, clearFieldErrors, select, projectTabs, projPath, fmtInt } from '../ui.js';
import { api } from '../api.js';
import { navigate } from '../router.js';
import { loadProject } from './project.js';
import { TYPES } from './scorers.js';

const PROVIDERS = ['openai', 'anthropic', 'azure_openai', 'google', 'groq', 'openai_compatible'];

/** "key=value" lines (or comma-separated) as a labels object; throws with the bad line. */
export function parseLabels(text) {
  const out = {};
  for (const part of text.split(/[\n,]/).map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]{1,64})\s*[=:]\s*(.*)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not key=value`);
    out[m[1]] = m[2];
  }
  return out;
}

export async function newRunPage({ params, el, signal }) {
  const project = await loadProject(params.p, signal);
  const base = `/v1/projects/${encodeURIComponent(project.id)}`;
  const [datasets, stored] = await Promise.all([
    api(`${base}/datasets?limit=1000`, { signal }), api(`${base}/scorers?limit=1000`, { signal })]);
  el.append(pageHead('Start a run', { crumbs: [h('a', { href: '/' }, 'Projects'), h('a', { href: projPath(project) }, project.name)] }),
    projectTabs(project, 'runs'));
  if (!datasets.items.length) {
    el.append(empty('No stored dataset yet', h('p', {}, 'A run from the dashboard scores a stored dataset. ',
      h('a', { href: projPath(project, '/datasets') }, 'Upload one'), ' first.')));
    return;
  }
  const dataset = select('dataset_id', datasets.items.map((d) => [d.id, `${d.name} (${fmtInt(d.items)} items)`]), datasets.items[0].id, { id: 'run-dataset' });
  const box = (value, label, checked) => h('label', {}, h('input', { type: 'checkbox', name: 'scorer', value, checked }), label);
  const storedBoxes = stored.items.map((sc) => box(sc.name, [h('strong', {}, sc.name), ' ', h('span', { class: 'muted small' }, sc.type)], false));
  const typeBoxes = Object.keys(TYPES).map((t) => box(t, h('code', {}, t), false));
  const name = h('input', { type: 'text', name: 'name', placeholder: 'optional, e.g. prompt v2' });
  const labels = h('input', { type: 'text', name: 'labels', placeholder: 'optional, e.g. branch=main, model=gpt-4o' });
  const minPass = h('input', { type: 'number', name: 'min_pass_rate', min: '0', max: '100', step: '0.1', placeholder: 'e.g. 90' });
  const provider = select('provider', [['', 'none: the items carry their outputs'], ...PROVIDERS.map((p) => [p, p])], '', { id: 'target-provider' });
  const model = h('input', { type: 'text', name: 'model', placeholder: 'gpt-4o-mini' });
  const prompt = h('textarea', { name: 'prompt', rows: 3, spellcheck: 'false', placeholder: '{{input}}' });
  const system = h('textarea', { name: 'system_prompt', rows: 2, placeholder: 'optional' });
  const formErr = h('div');
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Start run');

  const form = h('form', { class: 'card section', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    formErr.replaceChildren(); clearFieldErrors(form);
    const scorers = [...form.querySelectorAll('input[name="scorer"]:checked')].map((c) => c.value);
    if (!scorers.length) { showFieldError(form, { message: 'Pick at least one scorer.', details: { field: 'scorers' } }); return; }
    const body = { dataset_id: dataset.value, scorers };
    if (minPass.value.trim()) {
      const v = Number(minPass.value);
      if (!isFinite(v) || v < 0 || v > 100) { showFieldError(form, { message: 'The minimum pass rate is a percentage, 0 to 100.', details: { field: 'gate' } }); return; }
      body.gate = { min_pass_rate: v / 100 };
    }
    if (name.value.trim()) body.name = name.value.trim();
    if (labels.value.trim()) {
      try { body.labels = parseLabels(labels.value); } catch (err) { showFieldError(form, { message: err.message, details: { field: 'labels' } }); return; }
    }
    if (provider.value) {
      if (!model.value.trim()) { showFieldError(form, { message: 'A target needs a model.', details: { field: 'target' } }); return; }
      body.target = { provider: provider.value, model: model.value.trim() };
      if (prompt.value.trim()) body.target.prompt = prompt.value;
      if (system.value.trim()) body.target.system_prompt = system.value;
    }
    btn.disabled = true;
    try {
      const run = await api(`${base}/runs`, { method: 'POST', body });
      navigate(projPath(project, `/runs/${encodeURIComponent(run.id)}`));
    } catch (err) {
      if (!showFieldError(form, err)) formErr.append(errorBox(err));
    } finally { btn.disabled = false; }
  } },
  h('div', { class: 'form-grid' },
    field('Dataset', dataset, { name: 'dataset_id' }),
    field('Run name', name, { name: 'name', hint: 'Shown in the run list instead of the id.' }),
    field('Labels', labels, { name: 'labels', hint: 'key=value pairs, comma-separated: branch, commit, model…' }),
    field('Gate: minimum pass rate (%)', minPass, { name: 'gate', hint: 'The run\u2019s gate fails below it (CI reads should_gate_ci).' })),
  h('div', { class: 'field', dataset: { field: 'scorers' } },
    h('span', { class: 'label', id: 'scorers-label' }, 'Scorers'),
    storedBoxes.length ? [h('div', { class: 'muted small' }, 'Stored in this project'), h('div', { class: 'check-grid', role: 'group', 'aria-label': 'Stored scorers' }, storedBoxes)] : null,
    h('div', { class: 'muted small' }, 'Built-in types (with their defaults)'),
    h('div', { class: 'check-grid', role: 'group', 'aria-label': 'Built-in scorer types' }, typeBoxes),
    h('div', { class: 'field-error', hidden: true, role: 'alert' })),
  h('fieldset', { class: 'card section field', dataset: { field: 'target' } },
    h('legend', {}, 'Target (optional)'),
    h('div', { class: 'field-error', hidden: true, role: 'alert' }),
    h('p', { class: 'muted small' }, 'Items without an output get one from this model first, on the org\u2019s provider keys; the prompt template may use {{input}}, {{context}}, {{expected}} and {{metadata.NAME}}.'),
    h('div', { class: 'form-grid' }, field('Provider', provider), field('Model', model), field('Prompt template', prompt), field('System prompt', system))),
  formErr,
  h('div', { class: 'form-actions' }, btn));
  el.append(form);
}
