// Start a red-team run from the dashboard (POST /v1/projects/{p}/security/red-team): a target (one of the org's
// provider keys with a model and an optional system prompt, or an HTTP endpoint of the customer's app), the
// categories, transforms, attempts per category, a cost limit and an optional gate; then the run page.
// The server's 400 names a field (`categories[0]`, `target.model`, `gate.max_asr.jailbreak`): it is shown there.

import { h, pageHead, errorBox, field, showFieldError, clearFieldErrors, select, projectTabs, projPath, fmtInt, note } from '../ui.js';
import { api } from '../api.js';
import { navigate } from '../router.js';
import { loadProject } from './project.js';

/** The attack categories and the OWASP Top 10 for LLM Applications (2025) entry each tests (API.md). */
export const CATEGORIES = [
  ['prompt_injection', 'LLM01'], ['indirect_prompt_injection', 'LLM01'], ['system_prompt_extraction', 'LLM07'],
  ['data_exfiltration', 'LLM02'], ['jailbreak', 'LLM01'], ['improper_output_handling', 'LLM05'],
  ['unbounded_consumption', 'LLM10'], ['misinformation', 'LLM09'], ['excessive_agency', 'LLM06'],
];
/** The built-in transforms (`none`: the attack as written). An unknown one is refused by the server by name. */
export const TRANSFORMS = ['none', 'base64', 'hex', 'binary', 'url_encoding', 'rot13', 'atbash', 'caesar', 'morse', 'leetspeak', 'homoglyph', 'zero_width', 'unicode_tags', 'char_spacing', 'reversal', 'acrostic', 'json_embedding', 'code_block', 'payload_splitting', 'role_play', 'translation'];
/** The server's default and limit of `attempts_per_category` (DEFAULT_ATTEMPTS_PER_CATEGORY, MAX_ATTEMPTS_PER_CATEGORY). */
const DEFAULT_ATTEMPTS = 10;
const MAX_ATTEMPTS = 100;
const SEVERITIES = ['low', 'medium', 'high', 'critical'];

/** "Name: value" lines as a headers object; throws with the bad line. */
export function parseHeaders(text) {
  const out = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*:\s*(.*)$/.exec(line);
    if (!m) throw new Error(`"${line.length > 40 ? line.slice(0, 40) + '…' : line}" is not Name: value`);
    out[m[1]] = m[2];
  }
  return out;
}

const check = (name, value, label, checked) => h('label', {}, h('input', { type: 'checkbox', name, value, checked }), label);

export async function redTeamPage({ params, el, signal }) {
  const project = await loadProject(params.p, signal);
  const keys = (await api('/v1/byok-keys?limit=1000', { signal })).items;
  el.append(pageHead('Red team', { crumbs: [h('a', { href: '/' }, 'Projects'), h('a', { href: projPath(project) }, project.name)],
    sub: 'Attack a model with gavel\u2019s built-in attack library; the report shows attack success per category with over-refusal beside it.' }),
  projectTabs(project, 'runs'));

  const mode = (v, label, checked) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'target_mode', value: v, checked, onchange: showMode }), label);
  const modeProvider = mode('provider', 'A model, on the org\u2019s keys', true);
  const modeUrl = mode('url', 'An HTTP endpoint (your app)', false);
  const keySel = select('key_id', keys.map((k) => [k.id, `${k.name} (${k.provider})${k.is_default ? ' · default' : ''}`]),
    (keys.find((k) => k.is_default) || keys[0] || {}).id, { id: 'rt-key', onchange: () => { const k = keyOf(); if (k && k.default_model && !model.value) model.value = k.default_model; } });
  const keyOf = () => keys.find((k) => k.id === keySel.value);
  const model = h('input', { type: 'text', name: 'model', id: 'rt-model', placeholder: 'gpt-4o-mini', value: (keyOf() && keyOf().default_model) || '' });
  const system = h('textarea', { name: 'system_prompt', id: 'rt-system', rows: 3, placeholder: 'optional: the prompt your app gives the model' });
  const url = h('input', { type: 'url', name: 'url', id: 'rt-url', placeholder: 'http://localhost:8080/v1/chat/completions' });
  const headers = h('textarea', { name: 'headers', id: 'rt-headers', rows: 2, spellcheck: 'false', autocomplete: 'off', placeholder: 'Authorization: Bearer …' });
  const bodyTpl = h('textarea', { name: 'body_template', id: 'rt-body', rows: 3, spellcheck: 'false', placeholder: '{"messages": [{"role": "user", "content": "{{input}}"}]}' });
  const respPath = h('input', { type: 'text', name: 'response_path', id: 'rt-path', placeholder: 'choices.0.message.content' });
  const urlSystem = h('textarea', { name: 'url_system_prompt', id: 'rt-url-system', rows: 2, placeholder: 'optional: what the app keeps hidden' });
  const canary = h('input', { type: 'text', name: 'canary', id: 'rt-canary', placeholder: 'optional: a secret string the app must never reveal' });

  const providerBox = h('div', { class: 'form-grid' },
    keys.length ? field('Provider key', keySel, { name: 'target.key_id' }) : null,
    field('Model', model, { name: 'target.model' }),
    field('System prompt', system, { name: 'target.system_prompt', cls: 'wide', hint: 'Leave empty and gavel plants its own, with a canary and a secret, to detect leaks.' }));
  const urlBox = h('div', { class: 'form-grid', hidden: true },
    field('URL', url, { name: 'target.url', cls: 'wide', hint: 'Any OpenAI-compatible or plain HTTP endpoint; called with POST.' }),
    field('Headers', headers, { name: 'target.headers', hint: 'Name: value, one a line. Held for this run only: never stored, logged or shown.' }),
    field('Body template (JSON)', bodyTpl, { name: 'target.body_template', hint: '{{input}} is the attack; default: an OpenAI chat body.' }),
    field('Response path', respPath, { name: 'target.response_path', hint: 'Where the answer is in the reply JSON.' }),
    field('Hidden system prompt', urlSystem, { name: 'target.system_prompt' }),
    field('Canary', canary, { name: 'target.canary' }));
  function showMode() {
    const byUrl = modeUrl.querySelector('input').checked;
    providerBox.hidden = byUrl;
    urlBox.hidden = !byUrl;
    // Both modes have a `target.system_prompt` field: a server error goes to the one on screen.
    for (const [box, on] of [[providerBox, !byUrl], [urlBox, byUrl]]) {
      box.querySelectorAll('.field').forEach((f) => {
        if (on && f.dataset.off !== undefined) { f.dataset.field = f.dataset.off; delete f.dataset.off; }
        if (!on && f.dataset.field) { f.dataset.off = f.dataset.field; f.dataset.field = ''; }
      });
    }
  }

  const catBoxes = CATEGORIES.map(([c, o]) => check('category', c, [h('code', {}, c), ' ', h('span', { class: 'muted small' }, o)], true));
  const trBoxes = TRANSFORMS.map((t) => check('transform', t, h('code', {}, t), t === 'none'));
  const attempts = h('input', { type: 'number', name: 'attempts_per_category', id: 'rt-attempts', min: '1', step: '1', value: String(DEFAULT_ATTEMPTS), oninput: estimate });
  const cost = h('input', { type: 'number', name: 'cost_limit_usd', id: 'rt-cost', min: '0', step: '0.01', placeholder: 'optional, e.g. 2.50' });
  const maxAsr = h('input', { type: 'number', name: 'max_asr', id: 'rt-max-asr', min: '0', max: '100', step: '0.1', placeholder: 'optional, e.g. 5' });
  const maxSev = select('max_severity', [['', 'no limit'], ...SEVERITIES.map((v) => [v, v])], '', { id: 'rt-max-sev' });
  const name = h('input', { type: 'text', name: 'name', id: 'rt-name', placeholder: 'optional, e.g. support bot v3' });
  const est = h('p', { class: 'muted small', 'aria-live': 'polite', dataset: { testid: 'rt-estimate' } });
  const formErr = h('div');
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Start red team');
  const picked = (n) => [...form.querySelectorAll(`input[name="${n}"]:checked`)].map((c) => c.value);
  function estimate() {
    const n = Number(attempts.value);
    const cats = form ? picked('category').length : CATEGORIES.length;
    est.textContent = Number.isInteger(n) && n > 0 ? `${fmtInt(cats * n)} attacks (${cats} categories × ${n}), plus the benign probes that measure over-refusal.` : '';
  }

  const fail = (f, message) => { showFieldError(form, { message, details: { field: f } }); };
  const form = h('form', { class: 'card section', novalidate: true, 'aria-label': 'Start a red-team run', onchange: estimate, onsubmit: async (e) => {
    e.preventDefault();
    formErr.replaceChildren(); clearFieldErrors(form);
    const body = {};
    if (modeUrl.querySelector('input').checked) {
      if (!url.value.trim()) return fail('target.url', 'An HTTP target needs a URL.');
      body.target = { url: url.value.trim() };
      if (headers.value.trim()) {
        try { body.target.headers = parseHeaders(headers.value); } catch (err) { return fail('target.headers', err.message); }
      }
      if (bodyTpl.value.trim()) {
        try { body.target.body_template = JSON.parse(bodyTpl.value); } catch (err) { return fail('target.body_template', `Not JSON: ${err.message}`); }
      }
      if (respPath.value.trim()) body.target.response_path = respPath.value.trim();
      if (urlSystem.value.trim()) body.target.system_prompt = urlSystem.value;
      if (canary.value.trim()) body.target.canary = canary.value.trim();
    } else {
      const k = keyOf();
      if (!k) return fail('target.model', 'Add a provider key first (Provider keys), or attack an HTTP endpoint.');
      if (!model.value.trim()) return fail('target.model', 'A target needs a model.');
      body.target = { provider: k.provider, model: model.value.trim(), key_id: k.id };
      if (system.value.trim()) body.target.system_prompt = system.value;
    }
    const categories = picked('category');
    if (!categories.length) return fail('categories', 'Pick at least one category.');
    if (categories.length < CATEGORIES.length) body.categories = categories;
    const transforms = picked('transform');
    if (!transforms.length) return fail('transforms', 'Pick at least one transform (none: the attacks as written).');
    if (transforms.join() !== 'none') body.transforms = transforms;
    const n = Number(attempts.value);
    // The upper bound is the server's (its 400 names MAX_ATTEMPTS_PER_CATEGORY and lands at this field).
    if (!Number.isInteger(n) || n < 1) return fail('attempts_per_category', 'Attempts per category is a whole number, at least 1.');
    body.attempts_per_category = n;
    if (cost.value.trim()) {
      const c = Number(cost.value);
      if (!isFinite(c) || c < 0) return fail('cost_limit_usd', 'The cost limit is a non-negative amount in USD.');
      body.cost_limit_usd = c;
    }
    const gate = {};
    if (maxAsr.value.trim()) {
      const v = Number(maxAsr.value);
      if (!isFinite(v) || v < 0 || v > 100) return fail('gate', 'The maximum attack success rate is a percentage, 0 to 100.');
      gate.max_asr = Object.fromEntries(categories.map((c) => [c, v / 100]));
    }
    if (maxSev.value) gate.max_severity = maxSev.value;
    if (Object.keys(gate).length) body.gate = gate;
    if (name.value.trim()) body.name = name.value.trim();
    btn.disabled = true;
    try {
      const run = await api(`/v1/projects/${encodeURIComponent(project.id)}/security/red-team`, { method: 'POST', body });
      navigate(projPath(project, `/runs/${encodeURIComponent(run.id)}`));
    } catch (err) {
      if (!showFieldError(form, err)) formErr.append(errorBox(err));
    } finally { btn.disabled = false; }
  } },
  h('fieldset', { class: 'card section field', dataset: { field: 'target' } },
    h('legend', {}, 'Target'),
    h('div', { class: 'field-error', hidden: true, role: 'alert' }),
    h('div', { class: 'row', role: 'radiogroup', 'aria-label': 'What to attack' }, modeProvider, modeUrl),
    !keys.length ? note('info', 'This org has no provider key yet: ', h('a', { href: '/provider-keys' }, 'add one'), ', or attack an HTTP endpoint.') : null,
    providerBox, urlBox),
  h('div', { class: 'field section', dataset: { field: 'categories' } },
    h('span', { class: 'label', id: 'rt-cats-label' }, 'Categories'),
    h('div', { class: 'check-grid', role: 'group', 'aria-labelledby': 'rt-cats-label' }, catBoxes),
    h('div', { class: 'field-error', hidden: true, role: 'alert' })),
  h('div', { class: 'field section', dataset: { field: 'transforms' } },
    h('span', { class: 'label', id: 'rt-tr-label' }, 'Transforms'),
    h('div', { class: 'check-grid', role: 'group', 'aria-labelledby': 'rt-tr-label' }, trBoxes),
    h('div', { class: 'hint' }, 'Each category\u2019s attempts cycle through the transforms picked; the report gives attack success per transform too.'),
    h('div', { class: 'field-error', hidden: true, role: 'alert' })),
  h('div', { class: 'form-grid' },
    field('Attempts per category', attempts, { name: 'attempts_per_category', hint: `1 to ${MAX_ATTEMPTS}; default ${DEFAULT_ATTEMPTS}.` }),
    field('Cost limit (USD)', cost, { name: 'cost_limit_usd', hint: 'Attacks stop once the run has cost this much.' }),
    field('Gate: max attack success (%)', maxAsr, { name: 'gate', hint: 'Per category; CI fails above it (should_gate_ci).' }),
    field('Gate: max severity of a success', maxSev, { name: 'gate.max_severity' }),
    field('Run name', name, { name: 'name' })),
  est, formErr,
  h('div', { class: 'form-actions' }, btn));
  el.append(form);
  showMode();
  estimate();
}
