import { h, table, when, pageHead, empty, errorBox, note, field, select, showFieldError, clearFieldErrors, confirmDialog, badge, maskPrefix } from '../ui.js';
import { api, isAdmin, session } from '../api.js';

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
      { label: '', cell: (k) => h('button', { type: 'button', class: 'danger small', 'aria-label': `Revoke ${k.name}`, onclick: async () => {
        const self = k.id === me.id;
        if (!(await confirmDialog(`Revoke "${k.name}"? It stops working at once.${self ? ' This is the key you are signed in with.' : ''}`, 'Revoke'))) return;
        try { await api(`/v1/api-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' }); flash.replaceChildren(note('ok', `Revoked ${k.name}.`)); await load(); } catch (e) { flash.replaceChildren(errorBox(e)); }
      } }, 'Revoke') },
    ], data.items));
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
