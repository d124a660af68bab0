import { h, table, when, pageHead, empty, errorBox, field, showFieldError, clearFieldErrors, select, confirmDialog, note, badge, maskPrefix, fmtInt } from '../ui.js';
import { api, isAdmin } from '../api.js';

const PROVIDERS = ['openai', 'anthropic', 'azure_openai', 'google', 'groq', 'openai_compatible'];
// Which optional fields a provider shows; `req` are required.
const FIELDS = {
  openai: { show: ['base_url', 'default_model'] }, anthropic: { show: ['base_url', 'default_model'] },
  google: { show: ['base_url', 'default_model'] }, groq: { show: ['base_url', 'default_model'] },
  azure_openai: { show: ['endpoint', 'deployment', 'api_version', 'default_model'], req: ['endpoint', 'deployment', 'api_version'] },
  openai_compatible: { show: ['base_url', 'default_model'], req: ['base_url'] },
};
const LABELS = { base_url: 'Base URL', endpoint: 'Endpoint', deployment: 'Deployment', api_version: 'API version', default_model: 'Default model' };
const HINTS = { base_url: 'e.g. http://localhost:8000/v1 for vLLM or Ollama', endpoint: 'https://NAME.openai.azure.com', api_version: 'e.g. 2024-10-21' };

function failureText(f) {
  if (!f) return '';
  if (typeof f === 'string') return f;
  if (f.message) return f.code ? `${f.code}: ${f.message}` : f.message;
  return JSON.stringify(f);
}

function lastTest(t) {
  if (!t) return h('span', { class: 'muted' }, 'never');
  return h('span', {}, t.ok ? badge('pass', 'ok') : badge('fail', t.error ? t.error.code : 'failed', t.error ? t.error.message : null),
    ' ', h('span', { class: 'muted small' }, t.latency_ms !== undefined ? `${fmtInt(t.latency_ms)} ms · ` : '', when(t.at)));
}

function rotateDialog(key, onDone) {
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true });
  const err = h('div');
  const d = h('dialog', { class: 'confirm', 'aria-label': `Rotate ${key.name}` });
  const form = h('form', { onsubmit: async (e) => {
    e.preventDefault();
    err.replaceChildren();
    try {
      await api(`/v1/byok-keys/${encodeURIComponent(key.id)}`, { method: 'PATCH', body: { key: input.value } });
      input.value = '';
      d.close();
      onDone(`Rotated the secret of ${key.name}.`);
    } catch (x) { input.value = ''; if (!showFieldError(form, x)) err.append(errorBox(x)); }
  } }, h('h2', { style: { marginTop: 0 } }, `Rotate ${key.name}`), field('New secret', input, { name: 'key', hint: 'Replaces the stored secret at once; the old one is discarded.' }), err,
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Rotate'), h('button', { type: 'button', onclick: () => d.close() }, 'Cancel')));
  d.append(form);
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
}

export async function keysPage({ el, signal }) {
  const admin = isAdmin();
  const listBox = h('div');
  const flash = h('div', { 'aria-live': 'polite', 'data-testid': 'keys-flash' });
  const say = (node) => flash.replaceChildren(node);

  async function load() {
    const data = await api('/v1/byok-keys?limit=1000', { signal });
    if (!data.items.length) {
      listBox.replaceChildren(empty('No provider keys yet', h('p', {}, admin
        ? 'Add one above. Model-graded scorers (llm_judge, relevance, …) call your provider with it; heuristics need none.'
        : 'An org admin adds provider keys; ask one to add a key before running model-graded scorers.')));
      return;
    }
    const act = (k) => h('span', { class: 'badges' },
      h('button', { type: 'button', class: 'small', 'aria-label': `Test ${k.name}`, onclick: async (e) => {
        const b = e.currentTarget; b.disabled = true;
        say(note('info', `Testing ${k.name}…`));
        try {
          const r = await api(`/v1/byok-keys/${encodeURIComponent(k.id)}/test`, { method: 'POST' });
          say(r.ok ? note('ok', `Test of ${k.name}: ok · ${fmtInt(r.latency_ms)} ms · ${r.model || ''}`)
            : errorBox({ message: `Test of ${k.name} failed: ${r.error ? r.error.message : 'no answer'}`, code: r.error && r.error.code }));
          await load();
        } catch (x) { say(errorBox(x)); } finally { b.disabled = false; }
      } }, 'Test'),
      k.is_default ? null : h('button', { type: 'button', class: 'small', 'aria-label': `Make ${k.name} the default`, onclick: async () => {
        try { await api(`/v1/byok-keys/${encodeURIComponent(k.id)}`, { method: 'PATCH', body: { is_default: true } }); say(note('ok', `${k.name} is now the default ${k.provider} key.`)); await load(); } catch (x) { say(errorBox(x)); }
      } }, 'Make default'),
      h('button', { type: 'button', class: 'small', 'aria-label': `Rotate ${k.name}`, onclick: () => rotateDialog(k, (m) => { say(note('ok', m)); load().catch((x) => say(errorBox(x))); }) }, 'Rotate'),
      h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${k.name}`, onclick: async () => {
        if (!(await confirmDialog(`Delete the provider key "${k.name}"? The secret is erased at once and scorers using it fall back to the default key.`))) return;
        try { await api(`/v1/byok-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' }); say(note('ok', `Deleted ${k.name}.`)); await load(); } catch (x) { say(errorBox(x)); }
      } }, 'Delete'));
    listBox.replaceChildren(table([
      { label: 'Name', cell: (k) => h('span', {}, h('strong', {}, k.name), k.is_default ? [' ', badge('info', 'default')] : null,
        k.default_model ? h('div', { class: 'muted small' }, `model ${k.default_model}`) : null) },
      { label: 'Provider', cell: (k) => h('span', {}, k.provider, k.base_url || k.endpoint ? h('div', { class: 'muted small clip', title: k.base_url || k.endpoint }, k.base_url || k.endpoint) : null) },
      { label: 'Key', cell: (k) => h('code', { title: 'Only the first characters are kept for display' }, maskPrefix(k.key_prefix)) },
      { label: 'Status', cell: (k) => (k.status === 'failing' ? badge('fail', 'failing', failureText(k.failure)) : badge('pass', k.status || 'active')) },
      { label: 'Last test', cell: (k) => lastTest(k.last_test) },
      { label: 'Last used', cell: (k) => when(k.last_used_at), cls: 'hide-narrow' },
      admin ? { label: 'Actions', cell: act } : null,
    ].filter(Boolean), data.items, { rowAttrs: (k) => ({ dataset: { keyId: k.id, keyName: k.name } }) }));
  }

  const head = pageHead('Provider keys', { sub: 'Bring-your-own keys for model-graded scorers. Secrets are write-only: only a prefix is ever shown.' });
  if (!admin) {
    el.append(head, note('info', 'You are signed in as a member: provider keys are read-only here. Org admins add, test, rotate and delete them.'), listBox);
    await load();
    return;
  }
  const inputs = {
    provider: select('provider', PROVIDERS, 'openai'),
    name: h('input', { type: 'text', name: 'name', required: true, placeholder: 'prod-openai' }),
    key: h('input', { type: 'password', name: 'key', autocomplete: 'new-password', required: true, placeholder: 'sk-…' }),
  };
  const extra = {};
  for (const f of Object.keys(LABELS)) extra[f] = h('input', { type: 'text', name: f, autocomplete: 'off' });
  const isDefault = h('input', { type: 'checkbox', name: 'is_default' });
  const extraFields = Object.fromEntries(Object.keys(LABELS).map((f) => [f, field(LABELS[f], extra[f], { hint: HINTS[f] })]));
  function showFields() {
    const spec = FIELDS[inputs.provider.value];
    for (const [f, box] of Object.entries(extraFields)) {
      box.hidden = !spec.show.includes(f);
      box.querySelector('label').textContent = LABELS[f] + ((spec.req || []).includes(f) ? ' (required)' : ' (optional)');
    }
  }
  inputs.provider.addEventListener('change', showFields);
  const formErr = h('div');
  const form = h('form', { class: 'card section', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    formErr.replaceChildren(); clearFieldErrors(form);
    const spec = FIELDS[inputs.provider.value];
    const body = { provider: inputs.provider.value, name: inputs.name.value.trim(), key: inputs.key.value };
    for (const f of spec.show) if (extra[f].value.trim()) body[f] = extra[f].value.trim();
    if (isDefault.checked) body.is_default = true;
    try {
      const k = await api('/v1/byok-keys', { method: 'POST', body });
      say(note('ok', `Added ${k.name} (${k.provider}). Use Test to check it reaches the provider.`));
      form.reset(); showFields();
      await load();
    } catch (x) {
      if (!showFieldError(form, x)) formErr.append(errorBox(x));
    } finally { inputs.key.value = ''; }
  } },
  h('h2', { style: { marginTop: 0 } }, 'Add a provider key'),
  h('div', { class: 'form-grid' }, field('Provider', inputs.provider), field('Name', inputs.name), field('Secret key', inputs.key, { hint: 'Write-only: it is cleared from this form after submit.' }),
    Object.values(extraFields), h('div', { class: 'field' }, h('label', { class: 'check' }, isDefault, 'Make it the default for this provider'))),
  formErr,
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add key')));
  showFields();
  el.append(head, form, flash, listBox);
  await load();
}
