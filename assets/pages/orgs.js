// The server admin's page: the orgs on this server, creating one, and its first admin key shown once, with a
// one-click switch to acting as that org (signing in with the new key).

import { h, table, when, pageHead, empty, errorBox, field, showFieldError, clearFieldErrors, pager } from '../ui.js';
import { api, qs, setKey, session, whoAmI } from '../api.js';
import { navigate } from '../router.js';

export async function orgsPage({ el, signal }) {
  el.append(pageHead('Orgs', { sub: 'Signed in with the server admin key: it creates orgs and hands out each org\u2019s first admin key. Everything else happens inside an org.' }));
  const listBox = h('div');
  const flash = h('div', { 'aria-live': 'polite' });
  const cursors = [null];
  let pageNo = 0;

  async function load() {
    const data = await api('/v1/orgs' + qs({ limit: 50, cursor: cursors[pageNo] }), { signal });
    cursors[pageNo + 1] = data.next_cursor;
    if (!data.items.length && !pageNo) { listBox.replaceChildren(empty('No orgs yet', h('p', {}, 'Create the first one above.'))); return; }
    listBox.replaceChildren(table([
      { label: 'Org', cell: (o) => h('strong', {}, o.name) },
      { label: 'Id', cell: (o) => h('code', {}, o.id), cls: 'hide-narrow' },
      { label: 'Created', cell: (o) => when(o.created_at) },
    ], data.items, { rowAttrs: (o) => ({ dataset: { org: o.name } }) }),
    pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!data.next_cursor,
      onPrev: () => { pageNo--; load().catch(fail); }, onNext: () => { pageNo++; load().catch(fail); } }));
  }
  const fail = (e) => { if (e.name !== 'AbortError') listBox.replaceChildren(errorBox(e)); };

  /** The new org's key, shown once: it lives in this closure only and is gone when the box is hidden or the page left. */
  function showKey(org) {
    let key = org.admin_api_key;
    const copyBtn = h('button', { type: 'button', class: 'small', onclick: async (ev) => {
      const b = ev.currentTarget;
      try { await navigator.clipboard.writeText(key); b.textContent = 'Copied'; } catch { b.textContent = 'Select and copy by hand'; }
    } }, 'Copy key');
    const actBtn = h('button', { type: 'button', class: 'primary small', onclick: async (ev) => {
      ev.currentTarget.disabled = true;
      try {
        const me = await whoAmI(key);
        setKey(key);
        session.me = me;
        key = null;
        navigate('/');
      } catch (e) { ev.currentTarget.disabled = false; flash.append(errorBox(e)); }
    } }, `Sign in as ${org.name}`);
    flash.replaceChildren(h('div', { class: 'secret-once', role: 'status', dataset: { testid: 'org-key' } },
      h('strong', {}, `Org "${org.name}" created. Its first admin key is shown once, now: copy it and keep it safe. gavel stores only its hash and cannot show it again.`),
      h('div', { style: { margin: '.5rem 0' } }, h('code', { class: 'secret' }, key)),
      copyBtn, ' ', actBtn, ' ',
      h('button', { type: 'button', class: 'small', onclick: () => { key = null; flash.replaceChildren(); } }, 'Done, hide it')));
  }

  const name = h('input', { type: 'text', name: 'name', required: true, placeholder: 'acme' });
  const formErr = h('div');
  const form = h('form', { class: 'card section', novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    formErr.replaceChildren(); clearFieldErrors(form);
    try {
      const org = await api('/v1/orgs', { method: 'POST', body: { name: name.value.trim() } });
      name.value = '';
      showKey(org);
      pageNo = 0;
      await load();
    } catch (err) { if (!showFieldError(form, err)) formErr.append(errorBox(err)); }
  } },
  h('h2', { style: { marginTop: 0 } }, 'Create an org'),
  h('div', { class: 'row' }, field('Org name', name, { name: 'name' }), h('button', { type: 'submit', class: 'primary' }, 'Create org')),
  formErr);
  el.append(form, flash, listBox);
  await load();
}
