import { h, table, when, pageHead, empty, errorBox, note, field, select, showFieldError, clearFieldErrors, confirmDialog, badge, maskPrefix, fmtInt, fmtCost } from '../ui.js';
import { api, isAdmin, session } from '../api.js';

/** A key's gateway limits in one line ("—" when it has none and the org defaults apply). */
export function limitsText(l) {
  if (!l) return '';
  const parts = [];
  if (l.requests_per_min) parts.push(`${fmtInt(l.requests_per_min)} req/min`);
  if (l.tokens_per_min) parts.push(`${fmtInt(l.tokens_per_min)} tok/min`);
  if (typeof l.budget_usd === 'number') parts.push(`${fmtCost(l.budget_usd)} per ${l.budget_period || 'month'}`);
  return parts.join(' · ');
}

/** PATCH /v1/api-keys/{id} {limits}: blank fields are no limit; "Remove limits" sends `limits: null`. */
function limitsDialog(k, onDone) {
  const l = k.limits || {};
  const num = (name, v, step) => h('input', { type: 'number', name, min: 0, step, value: v ?? '', inputmode: 'decimal' });
  const rpm = num('requests_per_min', l.requests_per_min, 1);
  const tpm = num('tokens_per_min', l.tokens_per_min, 1);
  const budget = num('budget_usd', l.budget_usd, 'any');
  const period = select('budget_period', [['month', 'per month'], ['day', 'per day']], l.budget_period || 'month');
  const err = h('div');
  const d = h('dialog', { class: 'confirm', 'aria-label': `Gateway limits of ${k.name}` });
  const send = async (limits) => {
    err.replaceChildren(); clearFieldErrors(form);
    try {
      await api(`/v1/api-keys/${encodeURIComponent(k.id)}`, { method: 'PATCH', body: { limits } });
      d.close();
      onDone(limits ? `Saved the gateway limits of ${k.name}.` : `Removed the gateway limits of ${k.name}.`);
    } catch (x) { if (!showFieldError(form, x)) err.append(errorBox(x)); }
  };
  const form = h('form', { novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    const limits = {};
    const n = (i) => (i.value.trim() === '' ? undefined : Number(i.value));
    if (n(rpm) !== undefined) limits.requests_per_min = n(rpm);
    if (n(tpm) !== undefined) limits.tokens_per_min = n(tpm);
    if (n(budget) !== undefined) { limits.budget_usd = n(budget); limits.budget_period = period.value; }
    send(limits);
  } },
  h('h2', { style: { marginTop: 0 } }, `Gateway limits of ${k.name}`),
  h('p', { class: 'muted small' }, 'Over a rate: 429 RATE_LIMITED with Retry-After. Over the budget: 429 BUDGET_EXCEEDED. Blank is no limit.'),
  h('div', { class: 'form-grid' }, field('Requests per minute', rpm, { name: 'limits.requests_per_min' }),
    field('Tokens per minute (in + out)', tpm, { name: 'limits.tokens_per_min' }),
    field('Budget (USD)', budget, { name: 'limits.budget_usd' }), field('Budget period', period, { name: 'limits.budget_period' })),
  err,
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save limits'),
    k.limits ? h('button', { type: 'button', class: 'danger', onclick: () => send(null) }, 'Remove limits') : null,
    h('button', { type: 'button', onclick: () => d.close() }, 'Cancel')));
  d.append(form);
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
}

export async function apiKeysPage({ el, signal }) {
  el.append(pageHead('API keys', { sub: 'Keys for scripts, CI and people of this org. A key is shown once, when it is created.' }));
  if (!isAdmin()) { el.append(note('info', 'API keys are managed by org admins.')); return; }
  const listBox = h('div');
  const flash = h('div', { 'aria-live': 'polite' });
  const me = session.me.key;

  async function load() {
    const data = await api('/v1/api-keys?limit=1000', { signal });
    if (!data.items.length) { listBox.replaceChildren(empty('No API keys', h('p', {}, 'Create one above.'))); return; }
    listBox.replaceChildren(table([
      { label: 'Name', cell: (k) => h('span', {}, h('strong', {}, k.name), k.id === me.id ? [' ', badge('info', 'this session')] : null) },
      { label: 'Role', cell: (k) => badge(k.role === 'admin' ? 'error' : '', k.role) },
      { label: 'Key', cell: (k) => h('code', {}, maskPrefix(k.key_prefix)) },
      { label: 'Created', cell: (k) => when(k.created_at), cls: 'hide-narrow' },
      { label: 'Last used', cell: (k) => when(k.last_used_at) },
      { label: 'Gateway limits', cell: (k) => h('span', { class: 'limits' }, limitsText(k.limits) || h('span', { class: 'muted' }, 'org default'), ' ',
        h('button', { type: 'button', class: 'small', 'aria-label': `Edit limits of ${k.name}`, onclick: () => limitsDialog(k, (m) => { flash.replaceChildren(note('ok', m)); load().catch((e) => flash.replaceChildren(errorBox(e))); }) }, 'Edit')) },
      { label: '', cell: (k) => h('button', { type: 'button', class: 'danger small', 'aria-label': `Revoke ${k.name}`, onclick: async () => {
        const self = k.id === me.id;
        if (!(await confirmDialog(`Revoke "${k.name}"? It stops working at once.${self ? ' This is the key you are signed in with.' : ''}`, 'Revoke'))) return;
        try { await api(`/v1/api-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' }); flash.replaceChildren(note('ok', `Revoked ${k.name}.`)); await load(); } catch (e) { flash.replaceChildren(errorBox(e)); }
      } }, 'Revoke') },
    ], data.items, { rowAttrs: (k) => ({ dataset: { apiKey: k.name } }) }));
  }

  const name = h('input', { type: 'text', name: 'name', required: true, placeholder: 'ci' });
  const role = select('role', [['member', 'member'], ['admin', 'admin']], 'member');
  const formErr = h('div');
  const form = h('form', { class: 'card section', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    formErr.replaceChildren(); clearFieldErrors(form);
    try {
      const k = await api('/v1/api-keys', { method: 'POST', body: { name: name.value.trim(), role: role.value } });
      const code = h('code', {}, k.key);
      flash.replaceChildren(h('div', { class: 'secret-once', role: 'status' },
        h('strong', {}, `New ${k.role} key "${k.name}". Copy it now: it is not shown again.`), h('div', { style: { margin: '.5rem 0' } }, code),
        h('button', { type: 'button', class: 'small', onclick: async (ev) => {
          try { await navigator.clipboard.writeText(k.key); ev.currentTarget.textContent = 'Copied'; } catch { ev.currentTarget.textContent = 'Select and copy by hand'; }
        } }, 'Copy'),
        ' ', h('button', { type: 'button', class: 'small', onclick: () => flash.replaceChildren() }, 'Done, hide it')));
      name.value = '';
      await load();
    } catch (err) { if (!showFieldError(form, err)) formErr.append(errorBox(err)); }
  } },
  h('h2', { style: { marginTop: 0 } }, 'Create an API key'),
  h('div', { class: 'row' }, field('Name', name), field('Role', role), h('button', { type: 'submit', class: 'primary' }, 'Create key')),
  h('p', { class: 'muted small' }, 'Members run evaluations and manage projects, scorers and datasets; admins also manage provider keys, API keys and settings.'),
  formErr);
  el.append(form, flash, listBox);
  await load();
}
