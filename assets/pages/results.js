// The results table of a run: filters (status, scorer, q; for a failure analysis bucket, subcategory, severity),
// cursor pagination, and the item detail panel. Every filter lives in the URL, so a deep link survives a reload.

import { h, table, badge, verdictBadge, fmtNum, oneLine, asText, pager, errorBox, empty, drawer, debounce, select } from '../ui.js';
import { kindDetail, analysisFilters } from './kinds.js';
import { api, qs } from '../api.js';
import { setQuery, query } from '../router.js';
import { reviewPanel } from './review.js';

const PAGE = 50;

export function scoreBadge(sc) {
  if (sc.error) return badge('error', sc.scorer, `${sc.scorer}: ${sc.error.code}`);
  if (sc.unsure) return badge('info', sc.scorer, `${sc.scorer}: unsure (${fmtNum(sc.score)})`);
  return badge(sc.pass ? 'pass' : 'fail', sc.scorer, `${sc.scorer}: ${fmtNum(sc.score)}`);
}

export function scoreList(scores) {
  if (!scores || !scores.length) return h('p', { class: 'muted' }, 'No scores.');
  return h('div', {}, scores.map((sc) => h('div', { class: 'score' },
    h('div', { class: 'score-head' }, h('strong', {}, sc.scorer),
      sc.error ? badge('error', 'error') : sc.unsure ? badge('info', 'unsure') : sc.pass ? badge('pass', 'pass') : badge('fail', 'fail'),
      h('span', { class: 'muted small' }, `score ${fmtNum(sc.score)}`),
      sc.samples ? h('span', { class: 'muted small' }, ` · ${sc.samples.passes} of ${sc.samples.k} samples pass, agreement ${fmtNum(sc.samples.agreement, 2)}`) : null),
    sc.reason ? h('p', {}, sc.reason) : null,
    sc.error ? h('p', {}, h('code', {}, sc.error.code), ' ', sc.error.message) : null)));
}

function block(title, value) {
  if (value === undefined || value === null || (Array.isArray(value) && !value.length)) return null;
  if (title === 'Context' && Array.isArray(value)) {
    return [h('h3', {}, title), ...value.map((c) => h('pre', { style: { marginBottom: '.4rem' } }, asText(c)))];
  }
  return [h('h3', {}, title), h('pre', {}, asText(value))];
}

/** The item's fields, then extra content (scores, or base/head scores). */
export function itemBody(item, ...extra) {
  return [block('Input', item.input), block('Output', item.output), block('Context', item.context),
    block('Expected', item.expected), block('Metadata', item.metadata), ...extra];
}

/** The item's panel; with `run`, people can review it there (review.js). */
export function openItem(row, run) {
  const id = row.item && row.item.id !== undefined && row.item.id !== null ? ` · id ${asText(row.item.id)}` : '';
  drawer(`Item #${row.index}${id}`, [
    h('div', { class: 'badges' }, verdictBadge(row)),
    ...itemBody(row.item, ...kindDetail(row), h('h3', {}, 'Scores'), scoreList(row.scores)),
    ...(run && run.scorers.length ? reviewPanel(run, row) : []),
  ]);
}

/** Mount the results section into `box` for `run`. */
export function resultsView(box, run, signal) {
  const q0 = query();
  const st = { status: q0.status || '', scorer: q0.scorer || '', q: q0.q || '', bucket: q0.bucket || '', subcategory: q0.subcategory || '', severity: q0.severity || '' };
  const analysis = run.kind === 'failure_analysis' ? analysisFilters(run, st, () => restart()) : null;
  let cursors = [null];
  let pageNo = 0;
  const tableBox = h('div', { 'aria-live': 'polite' });

  const statusBtns = [['', 'All'], ['failed', 'Failed'], ['errored', 'Errored'], ['passed', 'Passed']].map(([v, label]) =>
    h('button', { type: 'button', 'aria-pressed': String(st.status === v), dataset: { status: v }, onclick: () => {
      st.status = v;
      statusBtns.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.status === v)));
      restart();
    } }, label));
  const scorerSel = select('scorer', [['', 'Any scorer'], ...run.scorers.map((n) => [n, `Not passed by ${n}`])], st.scorer, {
    id: 'results-scorer', onchange: () => { st.scorer = scorerSel.value; restart(); } });
  const search = h('input', { type: 'search', id: 'results-q', name: 'q', value: st.q, placeholder: 'Text in input or output',
    oninput: debounce(() => { if (search.value !== st.q) { st.q = search.value; restart(); } }, 350),
    onkeydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); st.q = search.value; restart(); } } });

  function restart() {
    cursors = [null];
    pageNo = 0;
    const cur = query();
    setQuery({ ...cur, status: st.status, scorer: st.scorer, q: st.q, bucket: st.bucket, subcategory: st.subcategory, severity: st.severity }, { push: false });
    load();
  }

  async function load() {
    tableBox.setAttribute('aria-busy', 'true');
    try {
      const data = await api(`/v1/runs/${encodeURIComponent(run.id)}/results` + qs({ limit: PAGE, cursor: cursors[pageNo], ...filters() }), { signal });
      cursors[pageNo + 1] = data.next_cursor;
      if (!data.items.length) {
        const filtered = st.status || st.scorer || st.q || st.bucket || st.subcategory || st.severity;
        tableBox.replaceChildren(empty(pageNo ? 'No more results' : filtered ? 'No items match these filters' : 'No results yet',
          h('p', {}, filtered ? 'Clear a filter or change the search text.' : run.status === 'completed' ? 'This run has no items.' : 'Results appear as items are scored.')));
      } else {
        const first = pageNo * PAGE + 1;
        tableBox.replaceChildren(
          table([
            { label: '#', cell: (r) => h('button', { type: 'button', class: 'small', onclick: () => openItem(r, run), 'aria-label': `Open item ${r.index}` }, `#${r.index}`) },
            { label: 'Verdict', cell: (r) => verdictBadge(r), cls: 'verdict' },
            { label: 'Id', cell: (r) => (r.item.id !== undefined && r.item.id !== null ? oneLine(r.item.id, 24) : '—'), cls: 'hide-narrow' },
            { label: 'Input', cell: (r) => h('div', { class: 'clip', title: oneLine(r.item.input, 400) }, oneLine(r.item.input)) },
            { label: 'Output', cell: (r) => h('div', { class: 'clip', title: oneLine(r.item.output, 400) }, oneLine(r.item.output)) },
            { label: 'Scores', cell: (r) => h('span', { class: 'badges' }, r.scores.map(scoreBadge)), cls: 'hide-narrow' },
          ], data.items, { rowAttrs: (r) => ({ class: 'clickable', dataset: { index: r.index }, onclick: (e) => { if (!e.target.closest('button')) openItem(r, run); } }) }),
          h('div', { class: 'row', style: { alignItems: 'center' } }, h('span', { class: 'muted small' }, `Showing ${first}–${first + data.items.length - 1}`), h('span', { class: 'spacer' }),
            pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!data.next_cursor, label: 'Results pages',
              onPrev: () => { pageNo--; load(); }, onNext: () => { pageNo++; load(); } })));
      }
    } catch (e) {
      if (e.name !== 'AbortError') tableBox.replaceChildren(errorBox(e));
    } finally { tableBox.removeAttribute('aria-busy'); }
  }

  box.replaceChildren(
    h('div', { class: 'row section' },
      h('div', { class: 'field' }, h('span', { class: 'sr-only', id: 'status-label' }, 'Status'),
        h('div', { class: 'seg', role: 'group', 'aria-labelledby': 'status-label' }, statusBtns)),
      h('div', { class: 'field' }, h('label', { for: 'results-scorer' }, 'Scorer'), scorerSel),
      h('div', { class: 'field', style: { flex: '1', minWidth: '12rem' } }, h('label', { for: 'results-q' }, 'Search'), search)),
    analysis ? analysis.el : null,
    tableBox);
  load();
  function filters() {
    return { status: st.status, scorer: st.scorer, q: st.q, bucket: st.bucket, subcategory: st.subcategory, severity: st.severity };
  }
  return { reload: () => load(), filters, setScorer: (n) => { st.scorer = n; scorerSel.value = n; restart(); },
    /** Show one bucket's (and optionally subcategory's) failures: the bucket table's rows call this. */
    setBucket: (bucket, subcategory = '') => { if (analysis) analysis.set({ bucket, subcategory, severity: '' }); } };
}
