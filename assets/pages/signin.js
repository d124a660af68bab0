import { h, field } from '../ui.js';
import { session, setKey, whoAmI } from '../api.js';
import { navigate, query } from '../router.js';

export async function signinPage({ el }) {
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'gv_…', style: { width: '100%' } });
  const msg = h('div', { role: 'alert', 'aria-live': 'assertive' });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  if (session.flash) { msg.append(h('div', { class: 'alert' }, session.flash)); session.flash = null; }
  const form = h('form', {
    class: 'card', novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      msg.replaceChildren();
      const key = input.value.trim();
      if (!key) { msg.append(h('div', { class: 'alert' }, 'Paste an API key first.')); input.focus(); return; }
      btn.disabled = true;
      try {
        const me = await whoAmI(key);
        setKey(key);
        session.me = me;
        input.value = '';
        const next = query().next;
        navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
      } catch (err) {
        const text = err.status === 401 ? 'Unknown or revoked API key.' : err.message;
        msg.append(h('div', { class: 'alert' }, text));
        input.focus();
        input.select();
      } finally { btn.disabled = false; }
    },
  },
  field('API key', input, { hint: 'An org API key (gv_…), or the server admin key from gavel init to manage orgs. It is kept in this browser tab only and sent as X-API-Key.' }),
  msg,
  h('div', { class: 'form-actions' }, btn));
  el.append(h('div', { class: 'signin' },
    h('h1', {}, 'Sign in to gavel'),
    h('p', { class: 'muted' }, 'LLM evaluation on your own provider keys.'),
    form,
    h('p', { class: 'muted small' }, 'No key yet? Sign in with the server admin key printed by ', h('code', {}, 'gavel init'),
      ', create an org, and sign in with the org\u2019s first admin key.')));
  input.focus();
}
