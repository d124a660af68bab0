import { h, table, pageHead, badge, verdictBadge, fmtRate, fmtInterval, fmtNum, oneLine, pager, errorBox, empty, projPath, projectTabs, select, shortId, drawer, stat, fmtInt, asText } from '../ui.js';
import { api, qs } from '../api.js';
import { navigate } from '../router.js';
import { loadProject } from './project.js';
import { itemBody, scoreList, scoreBadge } from './results.js';
import { wordDiff, diffPane, DIFF_MAX_TOKENS } from '../diff.js';

const CHANGE = { regressed: 'fail', fixed: 'pass', changed: 'error' };

function runLabel(r) {
  const rate = r.summary ? ` · ${fmtRate(r.summary.pass_rate)}` : '';
  const name = typeof r.name === 'string' && r.name ? `${r.name} · ` : '';
  return `${name}${r.created_at.slice(0, 16).replace('T', ' ')} · ${shortId(r.id)}${rate}`;
}

function delta(d) {
  if (typeof d !== 'number' || !isFinite(d)) return '—';
  const pts = (d * 100).toFixed(1);
  if (Math.abs(d) < 0.0005) return h('span', { class: 'muted' }, '±0.0 pts');
  return h('span', { class: d > 0 ? 'delta-up' : 'delta-down' }, `${d > 0 ? '+' : ''}${pts} pts`);
}

/** Whether a pass-rate change is more than chance (two-proportion test, p < 0.05), in words a reader can act on. */
function noise(d) {
  if (typeof d.beyond_noise !== 'boolean') return h('span', { class: 'muted' }, '—');
  const p = typeof d.p_value === 'number' ? ` (p = ${d.p_value < 0.001 ? '< 0.001' : d.p_value.toFixed(3)})` : '';
  if (!d.beyond_noise) return h('span', { class: 'muted', title: 'A change this small may be chance on this many items' }, `within noise${p}`);
  const kind = d.delta < 0 ? 'fail' : 'pass';
  return h('span', {}, badge(kind, d.delta < 0 ? 'regression' : 'improvement'), ` beyond noise${p}`);
}

/** A bucket's or subcategory's change in failure share, in words: more failures is the regression here. */
function bucketNoise(d) {
  const p = typeof d.p_value === 'number' ? ` (p = ${d.p_value < 0.001 ? '< 0.001' : d.p_value.toFixed(3)})` : '';
  if (d.change === 'same') return h('span', { class: 'muted' }, 'same');
  if (!d.beyond_noise) return h('span', { class: 'muted', title: 'A change this small may be chance on this many items' }, `within noise${p}`);
  return h('span', {}, badge(d.change === 'grew' ? 'fail' : 'pass', d.change), ` beyond noise${p}`);
}

/** Two failure analyses: per bucket (then its subcategories) failed items and shares of both runs. */
function bucketTable(b) {
  const rows = [];
  for (const [name, d] of Object.entries(b.buckets || {})) {
    rows.push({ name, d, top: true });
    for (const [sub, sd] of Object.entries(d.subcategories || {})) rows.push({ name: `${name}.${sub}`, label: sub, d: sd, top: false });
  }
  if (!rows.length) return h('p', { class: 'muted' }, 'Neither analysis found a failure.');
  const side = (n, share) => h('span', {}, fmtInt(n), h('span', { class: 'muted small' }, ` (${fmtRate(share)})`));
  // A failure share going up is bad: its rise is coloured like a falling pass rate.
  const shareDelta = (d) => {
    if (typeof d.delta !== 'number' || Math.abs(d.delta) < 0.0005) return h('span', { class: 'muted' }, '±0.0 pts');
    return h('span', { class: d.delta > 0 ? 'delta-down' : 'delta-up' }, `${d.delta > 0 ? '+' : ''}${(d.delta * 100).toFixed(1)} pts`);
  };
  return h('div', { class: 'section' },
    h('p', { class: 'muted small' }, `Failed items per bucket of ${fmtInt(b.base_items)} (base) and ${fmtInt(b.head_items)} (head) analysed items; ` +
      (b.grew.length ? `grew beyond noise: ${b.grew.join(', ')}. ` : 'no bucket grew beyond noise. ') +
      (b.shrank.length ? `Shrank beyond noise: ${b.shrank.join(', ')}.` : '')),
    table([
      { label: 'Bucket / subcategory', cell: (r) => (r.top ? h('strong', {}, r.name) : h('span', { style: { paddingLeft: '1.2rem' } }, r.label)) },
      { label: 'Base failed', cell: (r) => side(r.d.base_failed, r.d.base_share), num: true },
      { label: 'Head failed', cell: (r) => side(r.d.head_failed, r.d.head_share), num: true },
      { label: 'Δ share', cell: (r) => h('span', { title: 'change of the failure share' }, shareDelta(r.d), h('span', { class: 'sr-only' }, r.d.delta > 0 ? ' more failures' : r.d.delta < 0 ? ' fewer failures' : '')), num: true },
      { label: 'Beyond noise?', cell: (r) => bucketNoise(r.d) },
    ], rows, { caption: 'Failure buckets, base and head', rowAttrs: (r) => ({ dataset: { bucket: r.name, change: r.d.change } }) }));
}

/** Ask a judge which output is better, item by item in both orders (`POST /v1/runs/{head}/pairwise`): a win counts
 * only when both orders agree, so a judge that prefers whatever comes first produces ties, not a false winner. */
function pairwiseBox(base, head) {
  const rubric = h('textarea', { rows: 2, id: 'pairwise-rubric', placeholder: 'Which answer is more correct and helpful?' });
  const result = h('div', { class: 'pairwise-result' });
  const button = h('button', { type: 'button', id: 'pairwise-run' }, 'Judge head vs base');
  button.onclick = async () => {
    button.disabled = true;
    result.replaceChildren(h('p', { class: 'muted' }, 'Judging every shared item in both orders…'));
    try {
      const config = rubric.value.trim() ? { rubric: rubric.value.trim() } : {};
      const r = await api(`/v1/runs/${encodeURIComponent(head)}/pairwise`, { method: 'POST', body: { against: base, scorer: { type: 'pairwise', config } } });
      result.replaceChildren(h('div', { class: 'cards' },
        stat('Head win rate', fmtRate(r.win_rate), r.win_rate_ci ? h('div', { class: 'sub interval' }, fmtInterval(r.win_rate_ci)) : null),
        stat('Head wins', fmtInt(r.wins), h('div', { class: 'sub' }, 'better in both orders')),
        stat('Base wins', fmtInt(r.losses), h('div', { class: 'sub' }, 'better in both orders')),
        stat('Ties', fmtInt(r.ties), h('div', { class: 'sub' }, `${fmtInt(r.inconsistent)} followed the position`)),
        stat('Pairs', fmtInt(r.pairs), h('div', { class: 'sub' }, r.errors ? `${fmtInt(r.errors)} not judged` : `of ${fmtInt(r.matched)} shared items`))),
        r.first_error ? h('p', { class: 'muted' }, r.first_error) : null);
    } catch (e) { result.replaceChildren(errorBox(e)); }
    button.disabled = false;
  };
  return h('section', { class: 'pairwise' }, h('h2', {}, 'Pairwise judgement'),
    h('p', { class: 'muted' }, 'A judge compares the two outputs of each shared item, in both orders; inconsistent pairs count as ties.'),
    h('label', { for: 'pairwise-rubric' }, 'Rubric (optional)'), rubric, h('div', {}, button), result);
}

/** Both runs' scores of one item, scorer by scorer. */
function scoresSideBySide(it) {
  const names = [...new Set([...it.base.scores, ...it.head.scores].map((sc) => sc.scorer))];
  const cell = (sc) => (sc ? h('span', {}, scoreBadge(sc), ' ', fmtNum(sc.score)) : h('span', { class: 'muted' }, '—'));
  return table([
    { label: 'Scorer', cell: (n) => h('strong', {}, n) },
    { label: 'Base', cell: (n) => cell(it.base.scores.find((sc) => sc.scorer === n)) },
    { label: 'Head', cell: (n) => cell(it.head.scores.find((sc) => sc.scorer === n)) },
  ], names, { caption: `Scores of item ${it.index}` });
}

/** One changed item: input, both outputs with a word diff, both runs' scores. */
function sideBySide(it) {
  const headOut = typeof it.head.output === 'string' ? it.head.output : asText(it.item.output);
  const hasBase = typeof it.base.output === 'string';
  const d = wordDiff(hasBase ? it.base.output : '', headOut);
  const cut = (side) => (side.output_truncated ? h('p', { class: 'muted small' }, 'The server sent the first part of this output only.') : null);
  const pane = (label, side, body) => h('div', { class: 'sbs-pane' }, h('h3', {}, `${label} `, verdictBadge(side)), body, cut(side));
  return h('section', { class: 'card sbs', dataset: { index: it.index } },
    h('div', { class: 'row sbs-head' },
      h('button', { type: 'button', class: 'small', onclick: () => openChange(it), 'aria-label': `Open item ${it.index}` }, `#${it.index}`),
      badge(CHANGE[it.change] || '', it.change), h('div', { class: 'clip', title: oneLine(it.item.input, 400) }, oneLine(it.item.input))),
    h('div', { class: 'sbs-grid' },
      pane('Base', it.base, hasBase ? diffPane(d, 'base') : h('p', { class: 'muted' }, 'This server does not send the base output.')),
      pane('Head', it.head, diffPane(d, 'head'))),
    d.truncated ? h('p', { class: 'muted small' }, `Long outputs: only the first ${fmtInt(DIFF_MAX_TOKENS)} words are compared; the rest is shown unmarked.`) : null,
    scoresSideBySide(it));
}

function openChange(it) {
  const side = (label, v) => [h('h3', {}, `${label} `, v.errored ? badge('error', 'errored') : v.passed ? badge('pass', 'passed') : badge('fail', 'failed')), scoreList(v.scores)];
  drawer(`Item #${it.index}`, [h('div', { class: 'badges' }, badge(CHANGE[it.change] || '', it.change)),
    ...itemBody(it.item, ...side('Base', it.base), ...side('Head', it.head))]);
}

export async function comparePage({ params, query, el, signal }) {
  const project = await loadProject(params.p, signal);
  const runs = (await api(`/v1/projects/${encodeURIComponent(project.id)}/runs?limit=100`, { signal })).items.filter((r) => r.status === 'completed');
  el.append(pageHead('Compare runs', { crumbs: [h('a', { href: '/' }, 'Projects'), h('a', { href: projPath(project) }, project.name)] }),
    projectTabs(project, 'compare'));
  if (runs.length < 2) {
    el.append(empty('Two completed runs are needed', h('p', {}, 'Run the same dataset twice (say before and after a prompt change), then compare here:'),
      h('code', {}, `gavel eval --server ${location.origin} --project ${project.name} --dataset outputs.jsonl --scorer contains`)));
    return;
  }
  let head = query.head && runs.some((r) => r.id === query.head) ? query.head : runs[0].id;
  let base = query.base && runs.some((r) => r.id === query.base) ? query.base : runs.find((r) => r.id !== head).id;
  const opts = runs.map((r) => [r.id, runLabel(r)]);
  const baseSel = select('base', opts, base, { id: 'cmp-base' });
  const headSel = select('head', opts, head, { id: 'cmp-head' });
  const form = h('form', { class: 'card section', onsubmit: (e) => {
    e.preventDefault();
    navigate(projPath(project, '/compare' + qs({ base: baseSel.value, head: headSel.value })));
  } }, h('div', { class: 'row' },
    h('div', { class: 'field' }, h('label', { for: 'cmp-base' }, 'Base (before)'), baseSel),
    h('div', { class: 'field' }, h('label', { for: 'cmp-head' }, 'Head (after)'), headSel),
    h('button', { type: 'button', onclick: () => { const b = baseSel.value; baseSel.value = headSel.value; headSel.value = b; } }, '⇄ Swap'),
    h('button', { type: 'submit', class: 'primary' }, 'Compare')));
  const out = h('div');
  el.append(form, out);
  if (!query.base || !query.head) {
    out.append(h('p', { class: 'muted' }, 'Pick two runs, then Compare. The newest two completed runs are preselected.'));
    return;
  }
  if (base === head) { out.append(errorBox({ message: 'Pick two different runs.' })); return; }

  const cursors = [null];
  let pageNo = 0;
  const itemsBox = h('div');
  let data;
  try {
    data = await api(`/v1/projects/${encodeURIComponent(project.id)}/compare` + qs({ base, head, limit: 50 }), { signal });
  } catch (e) { if (e.name !== 'AbortError') out.append(errorBox(e)); return; }
  cursors[1] = data.next_cursor;
  const ps = data.per_scorer || {};
  const rate = (r) => (r.summary ? fmtRate(r.summary.pass_rate) : '—');
  const interval = (r) => (r.summary && r.summary.pass_rate_ci ? h('div', { class: 'sub interval' }, fmtInterval(r.summary.pass_rate_ci)) : null);
  out.append(
    h('div', { class: 'cards' },
      stat('Base pass rate', rate(data.base), interval(data.base), h('div', { class: 'sub' }, h('a', { href: projPath(project, `/runs/${data.base.id}`), class: 'mono' }, shortId(data.base.id)))),
      stat('Head pass rate', rate(data.head), interval(data.head), h('div', { class: 'sub' }, h('a', { href: projPath(project, `/runs/${data.head.id}`), class: 'mono' }, shortId(data.head.id)))),
      stat('Regressed', h('span', { class: data.counts.regressed ? 'delta-down' : '' }, fmtInt(data.counts.regressed)), h('div', { class: 'sub' }, 'passed before, fail now')),
      stat('Fixed', h('span', { class: data.counts.fixed ? 'delta-up' : '' }, fmtInt(data.counts.fixed)), h('div', { class: 'sub' }, 'failed before, pass now')),
      stat('Other changes', fmtInt(data.counts.changed), h('div', { class: 'sub' }, `${fmtInt(data.counts.unchanged)} unchanged`))),
    ...(data.buckets ? [h('h2', {}, 'Buckets'), bucketTable(data.buckets)] : []),
    h('h2', {}, 'Per scorer'),
    Object.keys(ps).length ? table([
      { label: 'Scorer', cell: (n) => h('strong', {}, n) },
      { label: 'Base pass rate', cell: (n) => fmtRate(ps[n].base_pass_rate), num: true },
      { label: 'Head pass rate', cell: (n) => fmtRate(ps[n].head_pass_rate), num: true },
      { label: 'Δ', cell: (n) => delta(ps[n].delta), num: true },
      { label: 'Beyond noise?', cell: (n) => noise(ps[n]) },
      { label: 'Base mean', cell: (n) => fmtNum(ps[n].base_mean), num: true, cls: 'hide-narrow' },
      { label: 'Head mean', cell: (n) => fmtNum(ps[n].head_mean), num: true, cls: 'hide-narrow' },
    ], Object.keys(ps)) : h('p', { class: 'muted' }, 'No scorer in common.'),
    pairwiseBox(base, head),
    h('h2', {}, 'Items whose verdict changed'), itemsBox);

  function paintItems(d) {
    if (!d.items.length) { itemsBox.replaceChildren(empty(pageNo ? 'No more changes' : 'No verdict changed', h('p', {}, 'Every item has the same verdict in both runs.'))); return; }
    itemsBox.replaceChildren(h('p', { class: 'muted small' }, `Outputs side by side, words removed from base struck through, words added in head underlined (the first ${fmtInt(DIFF_MAX_TOKENS)} words of each are compared).`),
      ...d.items.map(sideBySide),
      pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!d.next_cursor, onPrev: () => go(-1), onNext: () => go(1) }));
  }
  async function go(step) {
    pageNo += step;
    try {
      const d = await api(`/v1/projects/${encodeURIComponent(project.id)}/compare` + qs({ base, head, limit: 50, cursor: cursors[pageNo] }), { signal });
      cursors[pageNo + 1] = d.next_cursor;
      paintItems(d);
    } catch (e) { if (e.name !== 'AbortError') itemsBox.replaceChildren(errorBox(e)); }
  }
  paintItems(data);
}
