import { h, table, pageHead, empty, errorBox, field, select, stat, fmtCost, fmtInt, badge, debounce } from '../ui.js';
import { api, qs } from '../api.js';
import { setQuery } from '../router.js';
import { stackedBars, legend } from '../charts.js';

const day = (d) => d.toISOString().slice(0, 10);
function days(from, to) {
  const out = [];
  const end = Date.parse(to + 'T00:00:00Z');
  for (let t = Date.parse(from + 'T00:00:00Z'); t <= end && out.length < 400; t += 86400000) out.push(day(new Date(t)));
  return out;
}
const compact = (n) => (n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(1) + 'k' : String(Math.round(n * 100) / 100));

export async function usagePage({ el, query, signal }) {
  const today = new Date();
  const from = h('input', { type: 'date', name: 'from', value: query.from || day(new Date(today.getTime() - 30 * 86400000)) });
  const to = h('input', { type: 'date', name: 'to', value: query.to || day(today) });
  const by = select('by', [['provider', 'Provider'], ['model', 'Model'], ['key', 'Key']], query.by || 'provider');
  const out = h('div');
  const form = h('form', { class: 'card section', onsubmit: (e) => { e.preventDefault(); setQuery({ from: from.value, to: to.value, by: by.value }); load(); } },
    h('div', { class: 'row' }, field('From', from), field('To (inclusive)', to), field('Group charts by', by), h('button', { type: 'submit', class: 'primary' }, 'Show')));
  by.addEventListener('change', () => { setQuery({ from: from.value, to: to.value, by: by.value }, { push: false }); if (last) paint(last); });
  window.addEventListener('resize', debounce(() => { if (last) paint(last); }, 250), { signal });
  el.append(pageHead('Usage', { sub: 'Judge, target and gateway calls: tokens and cost on your provider keys.' }), form, out);
  let last = null;

  async function load() {
    out.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      last = await api('/v1/usage' + qs({ from: from.value, to: to.value }), { signal });
      paint(last);
    } catch (e) { if (e.name !== 'AbortError') out.replaceChildren(errorBox(e)); }
  }

  function paint(u) {
    const t = u.totals;
    const cards = h('div', { class: 'cards' },
      stat('Calls', fmtInt(t.calls)), stat('Input tokens', fmtInt(t.input_tokens)), stat('Output tokens', fmtInt(t.output_tokens)),
      stat('Cost', fmtCost(t.cost_usd)), stat('Cache hits', fmtInt(t.cache_hits)));
    // Per source (judge, target, gateway): what each kind of call cost.
    const sources = Object.entries(u.by_source || {});
    const bySource = sources.length ? h('div', { class: 'table-narrow', 'data-testid': 'usage-by-source' }, h('h2', {}, 'By source'), table([
      { label: 'Source', cell: ([s]) => s },
      { label: 'Calls', cell: ([, v]) => fmtInt(v.calls), num: true },
      { label: 'Tokens (in + out)', cell: ([, v]) => fmtInt(v.input_tokens + v.output_tokens), num: true },
      { label: 'Cost', cell: ([, v]) => fmtCost(v.cost_usd), num: true },
      { label: 'Cache hits', cell: ([, v]) => fmtInt(v.cache_hits), num: true },
    ], sources, { rowAttrs: ([s]) => ({ dataset: { source: s } }) })) : null;
    if (!u.items.length) {
      out.replaceChildren(cards, bySource, empty('No usage in this range',
        h('p', {}, 'Usage is recorded when model-graded scorers (llm_judge, relevance, faithfulness, …) or gateway callers reach a provider. Try a wider range, or run one:'),
        h('code', {}, `gavel eval --server ${location.origin} --project web --dataset outputs.jsonl --metric relevance`)));
      return;
    }
    const keyNames = Object.fromEntries(u.items.map((i) => [i.key_id, i.key_name]));
    const group = (r) => (by.value === 'model' ? `${r.provider}/${r.model}` : by.value === 'key' ? keyNames[r.key_id] || r.key_id || 'server key' : r.provider);
    const labels = days(u.from, u.to);
    const idx = Object.fromEntries(labels.map((d, i) => [d, i]));
    const names = [...new Set(u.daily.map(group))].sort();
    const series = (metric) => names.map((n) => {
      const values = labels.map(() => 0);
      for (const r of u.daily) if (group(r) === n && idx[r.day] !== undefined) values[idx[r.day]] += metric(r);
      return { name: n, values };
    });
    const W = out.clientWidth || 760;
    const two = W >= 900;
    const chart = (title, metric, fmt, full, tipFmt) => h('div', { class: ['card', full && 'full'] }, h('h3', {}, title),
      stackedBars(labels, series(metric), { title: `${title} per day by ${by.value}`, fmt, tipFmt, height: 200,
        width: (full || !two ? W : (W - 12) / 2) - 34 }), legend(names));
    const unknown = u.items.some((i) => !i.price_known);
    out.replaceChildren(cards, bySource,
      h('div', { class: ['chart-grid', !two && 'one'] },
        chart('Cost', (r) => r.cost_usd, (v) => '$' + Number(v.toPrecision(3)), true, fmtCost),
        chart('Calls', (r) => r.calls, compact),
        chart('Tokens (in + out)', (r) => r.input_tokens + r.output_tokens, compact)),
      h('h2', {}, 'By source, provider, model and key'),
      table([
        { label: 'Source', cell: (i) => i.source || 'judge' },
        { label: 'Provider', cell: (i) => i.provider },
        { label: 'Model', cell: (i) => h('code', {}, i.model) },
        { label: 'Key', cell: (i) => i.key_name || (i.key_id ? h('code', {}, i.key_id) : h('span', { class: 'muted' }, 'server key')) },
        { label: 'Calls', cell: (i) => fmtInt(i.calls), num: true },
        { label: 'Input tokens', cell: (i) => fmtInt(i.input_tokens), num: true, cls: 'hide-narrow' },
        { label: 'Output tokens', cell: (i) => fmtInt(i.output_tokens), num: true, cls: 'hide-narrow' },
        { label: 'Cost', cell: (i) => h('span', {}, fmtCost(i.cost_usd), i.price_known ? null : [' ', badge('error', 'price unknown', 'No list price is known for this model; cost counts as $0')]), num: true },
        { label: 'Cache hits', cell: (i) => fmtInt(i.cache_hits), num: true },
      ], u.items),
      unknown ? h('p', { class: 'muted small' }, 'Models marked "price unknown" have no list price here, so their cost is not counted.') : null);
  }
  await load();
}
