// The gateway page: where to point an OpenAI SDK, the org's gateway figures, and the request log (filtered on the
// server, paged by cursor; a content-logged row opens its prompt and completion).

import { h, table, when, pageHead, empty, errorBox, field, select, stat, badge, drawer, fmtCost, fmtInt, fmtRate, note } from '../ui.js';
import { api, qs } from '../api.js';
import { setQuery } from '../router.js';

const PAGE_SIZES = ['10', '25', '50', '100'];
const CACHE_KIND = { hit: 'pass', miss: '', bypass: 'info' };

/** The snippets of the "point your SDK here" box: two changed lines in an existing app. */
function snippets(base) {
  return {
    python: [
      'from openai import OpenAI',
      '',
      `client = OpenAI(base_url="${base}", api_key="gv_…",`,
      '                default_headers={"x-gavel-project": "web"})',
      'reply = client.chat.completions.create(',
      '    model="gpt-4o-mini",',
      '    messages=[{"role": "user", "content": "Hello"}],',
      ')',
      'print(reply.choices[0].message.content)',
    ].join('\n'),
    node: [
      "import OpenAI from 'openai';",
      '',
      `const client = new OpenAI({ baseURL: '${base}', apiKey: 'gv_…',`,
      "  defaultHeaders: { 'x-gavel-project': 'web' } });",
      'const reply = await client.chat.completions.create({',
      "  model: 'gpt-4o-mini',",
      "  messages: [{ role: 'user', content: 'Hello' }],",
      '});',
      'console.log(reply.choices[0].message.content);',
    ].join('\n'),
  };
}

function sdkBox() {
  const base = location.origin + '/v1';
  const code = snippets(base);
  const lang = select('sdk-lang', [['python', 'Python'], ['node', 'Node']], 'python', { 'aria-label': 'SDK language' });
  const pre = h('code', { 'data-testid': 'sdk-snippet' }, code.python);
  lang.addEventListener('change', () => { pre.textContent = code[lang.value]; });
  const copy = (text) => async (ev) => {
    const b = ev.currentTarget;
    try { await navigator.clipboard.writeText(text()); b.textContent = 'Copied'; } catch { b.textContent = 'Select and copy by hand'; }
  };
  return h('section', { class: 'card section', 'aria-labelledby': 'sdk-title' },
    h('h2', { id: 'sdk-title', style: { marginTop: 0 } }, 'Point your SDK here'),
    h('p', {}, 'Set the base URL and use a gavel API key (', h('code', {}, 'gv_…'), '): every call then runs on this org\'s provider keys, cached, costed, limited and logged below. ',
      h('code', {}, 'model'), ' is a native name, ', h('code', {}, 'provider/model'), ' or an alias from Settings.'),
    h('div', { class: 'row' }, h('span', {}, 'Base URL ', h('code', { 'data-testid': 'gateway-base-url' }, base)),
      h('button', { type: 'button', class: 'small', onclick: copy(() => base) }, 'Copy URL')),
    h('div', { class: 'row' }, lang, h('button', { type: 'button', class: 'small', onclick: copy(() => pre.textContent) }, 'Copy snippet')),
    h('pre', { class: 'snippet' }, pre));
}

function contentDrawer(r) {
  const c = r.content;
  drawer(`Request ${r.request_id}`, [
    h('p', { class: 'muted small' }, `${r.endpoint} · ${r.provider || '?'}/${r.model || '?'} · project ${r.project || '—'}`),
    c.truncated ? note('info', 'The text was cut to gateway.log_content_max_bytes.') : null,
    h('h3', {}, 'Prompt'), h('pre', { class: 'wrap', 'data-testid': 'logged-prompt' }, c.prompt),
    h('h3', {}, 'Completion'), h('pre', { class: 'wrap', 'data-testid': 'logged-completion' }, c.completion || '(none)'),
  ]);
}

/** The model the caller asked for (an alias, `provider/model`), shown only when it is not what served the call. */
function askedFor(r) {
  const asked = r.requested_model;
  if (!asked || asked === r.model || asked === `${r.provider}/${r.model}`) return null;
  return h('div', { class: 'muted small', 'data-testid': 'requested-model', title: 'The model the request asked for' },
    'asked ', h('code', {}, asked));
}

const statusCell = (r) => h('span', {}, badge(r.status < 400 ? 'pass' : 'fail', String(r.status)),
  r.error_code ? [' ', h('span', { class: 'code small' }, r.error_code)] : null);

export async function gatewayPage({ el, query, signal }) {
  el.append(pageHead('Gateway', { sub: 'OpenAI-compatible calls of this org: where to send them, what they cost, and every request.' }), sdkBox());
  const cards = h('div', { class: 'cards', 'data-testid': 'gateway-cards' });
  el.append(cards);
  api('/v1/usage', { signal }).then((u) => {
    const g = (u.by_source && u.by_source.gateway) || { calls: 0, cost_usd: 0, cache_hits: 0, input_tokens: 0, output_tokens: 0 };
    // Usage counts provider calls and cache hits apart: the requests are their sum.
    const requests = g.calls + g.cache_hits;
    cards.replaceChildren(stat('Requests (30 days)', fmtInt(requests)), stat('Spend', fmtCost(g.cost_usd)),
      stat('Cache hit rate', requests ? fmtRate(g.cache_hits / requests) : '—', h('div', { class: 'muted small' }, `${fmtInt(g.cache_hits)} answered from cache`)),
      stat('Tokens', fmtInt(g.input_tokens + g.output_tokens)));
  }).catch((e) => { if (e.name !== 'AbortError') cards.replaceChildren(errorBox(e)); });

  const inputs = {
    model: h('input', { type: 'text', name: 'model', value: query.model || '', placeholder: 'served or asked, e.g. gpt-4o-mini' }),
    project: h('input', { type: 'text', name: 'project', value: query.project || '', placeholder: 'any' }),
    status: select('status', [['', 'any'], ['ok', 'ok (< 400)'], ['error', 'errors (≥ 400)'], ['429', '429 only']], query.status || ''),
    cache: select('cache', [['', 'any'], ['hit', 'hit'], ['miss', 'miss'], ['bypass', 'bypass']], query.cache || ''),
    limit: select('limit', PAGE_SIZES, PAGE_SIZES.includes(query.limit) ? query.limit : '25'),
  };
  const filters = () => Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value.trim()]));
  const form = h('form', { class: 'card section', 'aria-label': 'Request log filters', onsubmit: (e) => { e.preventDefault(); setQuery(filters()); restart(); } },
    h('div', { class: 'row' }, field('Model', inputs.model), field('Project', inputs.project), field('Status', inputs.status),
      field('Cache', inputs.cache), field('Rows per page', inputs.limit), h('button', { type: 'submit', class: 'primary' }, 'Filter')));
  const out = h('div', { 'data-testid': 'request-log' });
  el.append(h('h2', {}, 'Request log'), form, out);

  // Cursor pagination: the cursors of the pages seen so far, so Previous goes back without the server's help.
  let cursors = [null];
  let at = 0;
  const restart = () => { cursors = [null]; at = 0; load(); };

  async function load() {
    out.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    const f = filters();
    let data;
    try {
      data = await api('/v1/gateway/requests' + qs({ ...f, cursor: cursors[at] }), { signal });
    } catch (e) { if (e.name !== 'AbortError') out.replaceChildren(errorBox(e)); return; }
    cursors[at + 1] = data.next_cursor;
    if (!data.items.length) {
      const any = Object.entries(f).some(([k, v]) => k !== 'limit' && v);
      out.replaceChildren(empty(any ? 'No requests match these filters' : 'No gateway requests yet',
        h('p', {}, any ? 'Clear a filter to see more.' : 'Point an OpenAI SDK at the base URL above; each call shows up here.')));
      return;
    }
    const nav = () => h('nav', { class: 'pager', 'aria-label': 'Request log pages' },
      h('span', { class: 'muted small' }, `Page ${at + 1}`),
      h('button', { type: 'button', disabled: at === 0, onclick: () => { at--; load(); } }, '← Previous'),
      h('button', { type: 'button', disabled: !data.next_cursor, onclick: () => { at++; load(); } }, 'Next →'));
    out.replaceChildren(table([
      { label: 'Time', cell: (r) => when(r.at) },
      { label: 'Served by', cell: (r) => h('span', {}, h('code', {}, `${r.provider || '—'}/${r.model || '—'}`),
        askedFor(r),
        h('div', { class: 'muted small' }, r.endpoint + (r.stream ? ' · stream' : '') + (r.attempts > 1 ? ` · ${r.attempts} attempts` : ''))) },
      { label: 'Status', cell: statusCell },
      { label: 'Latency', cell: (r) => `${fmtInt(r.latency_ms)} ms`, num: true },
      { label: 'Overhead', cell: (r) => `${fmtInt(r.overhead_ms)} ms`, num: true, cls: 'hide-narrow' },
      { label: 'Tokens (in / out)', cell: (r) => `${fmtInt(r.input_tokens)} / ${fmtInt(r.output_tokens)}`, num: true, cls: 'hide-narrow' },
      { label: 'Cost', cell: (r) => fmtCost(r.cost_usd), num: true },
      { label: 'Cache', cell: (r) => badge(CACHE_KIND[r.cache] ?? '', r.cache), cls: 'cache' },
      { label: 'Key source', cell: (r) => r.key_source || '—', cls: 'hide-narrow' },
      { label: 'Project', cell: (r) => r.project || h('span', { class: 'muted' }, '—') },
      { label: 'Text', cell: (r) => (r.content
        ? h('button', { type: 'button', class: 'small', 'aria-label': `Open the text of request ${r.request_id}`, onclick: () => contentDrawer(r) }, 'Open')
        : h('span', { class: 'muted small', title: 'Only projects that opted in to content logging (Settings) keep the text' }, 'not logged')) },
    ], data.items, { caption: 'Gateway requests, newest first',
      rowAttrs: (r) => ({ dataset: { requestId: r.request_id, cache: r.cache, logged: r.content ? 'yes' : 'no' } }) }), nav());
  }
  await load();
}
