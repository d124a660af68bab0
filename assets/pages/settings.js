// Org settings: which keys serve the org's calls (provider_mode), the gateway's model aliases, and each project's
// content-logging opt-in. Everyone in the org may read them (GET /v1/org/settings); only org admins change them.

import { h, table, pageHead, empty, errorBox, note, badge, select, maskPrefix } from '../ui.js';
import { api, isAdmin } from '../api.js';

const PROVIDERS = ['openai', 'anthropic', 'azure_openai', 'google', 'groq', 'openai_compatible'];
const MODES = [
  ['byok_then_managed', 'BYOK, then managed', "The org's own keys first; the server's fallback key only for a provider the org has no key for (the default)."],
  ['byok', 'BYOK only', "Only the org's own provider keys; a provider without one answers BYOK_NO_KEY, never the server's key."],
  ['managed', 'Managed only', "Always the server's fallback key from its config; the org's own keys are not used."],
];
/** PATCH /v1/org/settings replaces the whole object: these fields are sent back as loaded. */
const KEEP = ['provider_precedence', 'model_overrides', 'cost_limit_usd', 'default_key_limits'];

/** The editor of one alias: its name and ordered targets, each `{provider, model, key_id?}`. */
function aliasEditor(alias, keys, admin, onRemove) {
  const box = h('fieldset', { class: 'card alias', dataset: { alias: alias.name } });
  const name = h('input', { type: 'text', name: 'alias', value: alias.name, 'aria-label': 'Alias name', placeholder: 'fast', disabled: !admin });
  const rows = h('ol', { class: 'targets' });
  const err = h('div', { class: 'field-error', role: 'alert', hidden: true });
  function targetRow(t) {
    const provider = select('provider', PROVIDERS, t.provider || 'openai', { 'aria-label': 'Provider', disabled: !admin });
    const model = h('input', { type: 'text', name: 'model', value: t.model || '', 'aria-label': 'Model', placeholder: 'gpt-4o-mini', disabled: !admin });
    const keyOptions = () => [['', 'default key'], ...keys.filter((k) => k.provider === provider.value).map((k) => [k.id, `${k.name} (${maskPrefix(k.key_prefix)})`])];
    const key = select('key_id', keyOptions(), t.key_id || '', { 'aria-label': 'Key', disabled: !admin });
    if (t.key_id && !keys.some((k) => k.id === t.key_id)) key.append(h('option', { value: t.key_id, selected: true }, `${t.key_id} (not found)`));
    provider.addEventListener('change', () => {
      key.replaceChildren(...keyOptions().map(([v, label]) => h('option', { value: v }, label)));
      key.value = '';
    });
    const li = h('li', { class: 'row target' }, provider, model, key);
    li.read = () => ({ provider: provider.value, model: model.value.trim(), ...(key.value ? { key_id: key.value } : {}) });
    if (admin) {
      const move = (d) => () => {
        const sib = d < 0 ? li.previousElementSibling : li.nextElementSibling;
        if (sib) { if (d < 0) sib.before(li); else sib.after(li); }
      };
      li.append(h('button', { type: 'button', class: 'small', 'aria-label': 'Move target up', onclick: move(-1) }, '↑'),
        h('button', { type: 'button', class: 'small', 'aria-label': 'Move target down', onclick: move(1) }, '↓'),
        h('button', { type: 'button', class: 'small danger', 'aria-label': 'Remove target', onclick: () => li.remove() }, 'Remove'));
    }
    return li;
  }
  (alias.targets.length ? alias.targets : [{}]).forEach((t) => rows.append(targetRow(t)));
  box.append(h('legend', {}, 'Alias'), h('div', { class: 'row' }, name,
    admin ? h('button', { type: 'button', class: 'small', onclick: () => rows.append(targetRow({})) }, 'Add target') : null,
    admin ? h('button', { type: 'button', class: 'small danger', 'aria-label': 'Remove alias', onclick: () => { box.remove(); onRemove(); } }, 'Remove alias') : null),
  h('div', { class: 'muted small' }, 'Targets, tried in this order on retryable failures:'), rows, err);
  box.read = () => ({ name: name.value.trim(), targets: [...rows.children].map((li) => li.read()) });
  box.showError = (msg) => { err.textContent = msg; err.hidden = false; box.classList.add('invalid'); };
  box.clearError = () => { err.textContent = ''; err.hidden = true; box.classList.remove('invalid'); };
  return box;
}

export async function settingsPage({ el, signal }) {
  const admin = isAdmin();
  el.append(pageHead('Org settings', { sub: 'Which keys serve the org, the gateway\'s model aliases, and which projects log call text.' }));
  if (!admin) el.append(note('info', 'You are signed in as a member: these settings are read-only here. Org admins change them.'));
  const [settings, keys, projects] = await Promise.all([
    api('/v1/org/settings', { signal }), api('/v1/byok-keys?limit=1000', { signal }), api('/v1/projects?limit=1000', { signal })]);
  const flash = h('div', { 'aria-live': 'polite', 'data-testid': 'settings-flash' });

  // ---- provider mode
  const mode = settings.provider_mode || 'byok_then_managed';
  const modeErr = h('div', { class: 'field-error', role: 'alert', hidden: true });
  const modeBox = h('fieldset', { class: 'card section', dataset: { field: 'provider_mode' } }, h('legend', {}, 'Provider mode'),
    MODES.map(([v, label, why]) => h('label', { class: 'check mode' },
      h('input', { type: 'radio', name: 'provider_mode', value: v, checked: v === mode, disabled: !admin }),
      h('span', {}, h('strong', {}, label), ' ', h('code', {}, v), h('div', { class: 'muted small' }, why)))), modeErr);
  const defaults = Object.fromEntries(keys.items.filter((k) => k.is_default).map((k) => [k.provider, k]));
  const servingTable = (mode) => table([
    { label: 'Provider', cell: (p) => p },
    { label: 'Serving key', cell: (p) => {
      const k = defaults[p];
      if (mode === 'managed') return h('span', { class: 'muted' }, "the server's fallback key (if configured)");
      if (k) return h('span', {}, k.name, ' ', h('code', {}, maskPrefix(k.key_prefix)), k.status === 'failing' ? [' ', badge('fail', 'failing')] : null);
      return h('span', { class: 'muted' }, mode === 'byok' ? 'none: calls answer BYOK_NO_KEY' : "no org key: the server's fallback key, if configured");
    } },
  ], PROVIDERS, { caption: 'The key that serves each provider under the saved mode' });
  const serving = h('div', { 'data-testid': 'serving-keys' }, servingTable(mode));

  // ---- aliases
  const aliasList = h('div', { class: 'aliases' });
  const noAliases = empty('No aliases', h('p', {}, 'An alias lets callers ask for a name (say "fast") that gavel maps to provider models, in order.'));
  const refreshEmpty = () => { noAliases.hidden = aliasList.children.length > 0; };
  const addAlias = (a) => { aliasList.append(aliasEditor(a, keys.items, admin, refreshEmpty)); refreshEmpty(); };
  Object.entries(settings.model_aliases || {}).forEach(([name, targets]) => addAlias({ name, targets }));
  const saveErr = h('div');

  async function save() {
    flash.replaceChildren(); saveErr.replaceChildren();
    modeErr.hidden = true; modeBox.classList.remove('invalid');
    const editors = [...aliasList.children];
    editors.forEach((b) => b.clearError());
    const aliases = {};
    for (const b of editors) {
      const a = b.read();
      if (Object.hasOwn(aliases, a.name)) { b.showError(`The alias "${a.name}" is listed twice.`); return; }
      aliases[a.name] = a.targets;
      b.dataset.alias = a.name;
    }
    const body = {};
    for (const k of KEEP) if (settings[k] !== undefined) body[k] = settings[k];
    body.provider_mode = modeBox.querySelector('input[name="provider_mode"]:checked').value;
    body.model_aliases = aliases;
    try {
      const saved = await api('/v1/org/settings', { method: 'PATCH', body });
      Object.assign(settings, saved);
      serving.replaceChildren(servingTable(saved.provider_mode || 'byok_then_managed'));
      flash.replaceChildren(note('ok', `Saved: provider mode ${saved.provider_mode || 'byok_then_managed'}, ${Object.keys(saved.model_aliases || {}).length} aliases.`));
    } catch (e) {
      const f = e.details && typeof e.details.field === 'string' ? e.details.field : '';
      const m = /^model_aliases\.(.*)$/.exec(f);
      const target = m && editors.find((b) => b.dataset.alias === m[1]);
      if (target) { target.showError(e.message); target.querySelector('input')?.focus(); return; }
      if (f === 'provider_mode') { modeErr.textContent = e.message; modeErr.hidden = false; modeBox.classList.add('invalid'); return; }
      saveErr.append(errorBox(e));
    }
  }

  const aliasSection = h('section', { class: 'section', 'aria-labelledby': 'aliases-title' },
    h('h2', { id: 'aliases-title' }, 'Model aliases'),
    h('p', { class: 'muted small' }, 'Over the server\'s [gateway.models]. An alias has 1 to 8 targets; a target without a key uses the org\'s default key for its provider.'),
    noAliases, aliasList,
    admin ? h('button', { type: 'button', onclick: () => addAlias({ name: '', targets: [] }) }, 'Add alias') : null);
  el.append(h('h2', {}, 'Keys'), modeBox, serving, aliasSection, saveErr,
    admin ? h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'primary', onclick: save }, 'Save settings')) : null, flash);
  refreshEmpty();

  // ---- content logging per project (saved at once, one PATCH per project)
  const logFlash = h('div', { 'aria-live': 'polite' });
  const logBox = projects.items.length ? table([
    { label: 'Project', cell: (p) => p.name },
    { label: 'Log prompt and completion', cell: (p) => { const state = h('span', {}, p.gateway_log_content ? 'on' : 'off'); return h('label', { class: 'check' },
      h('input', { type: 'checkbox', checked: !!p.gateway_log_content, disabled: !admin, 'aria-label': `Log gateway call text of ${p.name}`,
        onchange: async (ev) => {
          const box = ev.currentTarget;
          box.disabled = true;
          try {
            const np = await api(`/v1/projects/${encodeURIComponent(p.id)}`, { method: 'PATCH', body: { gateway_log_content: box.checked } });
            p.gateway_log_content = np.gateway_log_content;
            state.textContent = np.gateway_log_content ? 'on' : 'off';
            logFlash.replaceChildren(note('ok', `${p.name}: gateway call text is ${np.gateway_log_content ? 'now logged' : 'no longer logged'}.`));
          } catch (e) { box.checked = !box.checked; logFlash.replaceChildren(errorBox(e)); } finally { box.disabled = false; }
        } }), state); } },
  ], projects.items, { rowAttrs: (p) => ({ dataset: { project: p.name } }) }) : empty('No projects yet');
  el.append(h('section', { class: 'section', 'aria-labelledby': 'logging-title' }, h('h2', { id: 'logging-title' }, 'Gateway content logging'),
    h('p', { class: 'muted small' }, 'Off by default: the request log keeps no prompt or completion text. A project that opts in keeps both (cut to gateway.log_content_max_bytes) for calls sent with x-gavel-project naming it.'),
    logBox, logFlash));
}
