// Red-team runs on the run page: the report (attack success per category and per transform with Wilson 95 %
// intervals, over-refusal beside it, the gate), the attempts list with its filters, and an attempt's panel.
// Row shape (API.md "POST …/security/red-team"): `row.attempt = {category, transform, attack, response, success,
// severity, decided_by, owasp, hazard_category, benign, refused, undecided, reason, transcript?}`; the text sent is
// `row.item.input`. `hazard_category` is the MLCommons code (S1–S14) of a harmful-goal attack, null otherwise.

import { h, s, table, badge, stat, fmtRate, fmtInterval, fmtInt, fmtCost, oneLine, asText, pager, errorBox, empty, drawer, select, note } from '../ui.js';
import { api, qs } from '../api.js';
import { setQuery, query } from '../router.js';
import { scoreList } from './results.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low'];
/** The worst severity of a `{severity: count}` map, '' when it has none. */
const worst = (sev) => SEVERITIES.find((v) => sev && sev[v] > 0) || '';
export const sevBadge = (v) => (v ? badge(v === 'critical' || v === 'high' ? 'fail' : v === 'medium' ? 'error' : 'info', v) : h('span', { class: 'muted' }, '—'));
/** Over-refusal at or above this rate gets the "refusing is not safety" warning. */
const OVER_REFUSAL_WARN = 0.5;
/** Rows per page of the attempts list (the list is filtered in the browser: the API has no category filter). */
const PAGE = 50;
/** Rows per results request when loading a run's attempts (the API's page limit). */
const FETCH = 1000;

/**
 * The attack success rate as a bar with its 95 % interval as a whisker: high is bad, so the bar is red. An SVG
 * image with a text alternative; the numbers are also in the table's cells.
 */
export function asrBar(asr, ci, width = 120) {
  const H = 14, x = (v) => Math.max(0, Math.min(1, v)) * width;
  const label = `attack success rate ${fmtRate(asr)}${ci ? `, ${fmtInterval(ci)}` : ''}`;
  const parts = [s('rect', { class: 'asr-track', x: 0, y: 3, width, height: 8, rx: 4 }),
    s('rect', { class: 'asr-fill', x: 0, y: 3, width: x(asr || 0), height: 8, rx: 4 })];
  if (Array.isArray(ci) && ci.length === 2) {
    const [lo, hi] = [x(ci[0]), x(ci[1])];
    parts.push(s('line', { class: 'asr-ci', x1: lo, x2: hi, y1: 7, y2: 7 }),
      s('line', { class: 'asr-ci', x1: lo, x2: lo, y1: 1, y2: 13 }), s('line', { class: 'asr-ci', x1: hi, x2: hi, y1: 1, y2: 13 }));
  }
  return s('svg', { class: 'asr-bar', width, height: H, viewBox: `-1 0 ${width + 2} ${H}`, role: 'img', 'aria-label': label }, s('title', { text: label }), ...parts);
}

/** Per-category or per-transform table: `rates` is `{NAME: {attempts, successes, asr, asr_ci, severity?, owasp?, undecided?}}`. */
function rateTable(rates, { nameLabel, owasp, caption, testid, names: label }) {
  const names = Object.keys(rates).sort((a, b) => (rates[b].asr - rates[a].asr) || a.localeCompare(b));
  const r = (n) => rates[n];
  // ASR right after the name, so a narrow window shows it without scrolling the table.
  const cols = [
    { label: nameLabel, cell: (n) => [h('strong', {}, n), label && r(n)[label] ? h('span', { class: 'muted small' }, ` ${r(n)[label]}`) : null] },
    { label: 'ASR', cell: (n) => h('span', { class: 'asr' }, h('span', { class: 'asr-value' }, fmtRate(r(n).asr)), asrBar(r(n).asr, r(n).asr_ci)), num: true },
    { label: 'Successes', cell: (n) => fmtInt(r(n).successes), num: true },
    { label: 'Attempts', cell: (n) => [fmtInt(r(n).attempts), r(n).undecided ? h('span', { class: 'muted small', title: 'undecided attempts (no judge, target error, cost limit) are not counted as defended' }, ` +${fmtInt(r(n).undecided)} undecided`) : null], num: true },
    { label: '95% interval', cell: (n) => h('span', { class: 'muted interval' }, r(n).asr_ci ? fmtInterval(r(n).asr_ci).replace('95% CI ', '') : '—'), num: true, cls: 'hide-narrow' },
  ];
  if (owasp) cols.push({ label: 'OWASP', cell: (n) => (r(n).owasp ? h('code', { title: 'OWASP Top 10 for LLM Applications 2025' }, r(n).owasp) : '—') });
  cols.push({ label: 'Worst severity', cell: (n) => sevBadge(worst(r(n).severity)) });
  const t = table(cols, names, { caption, rowAttrs: (n) => ({ dataset: { name: n } }) });
  t.dataset.testid = testid;
  return t;
}

/** The summary cards of a red-team run: attack success overall, over-refusal beside it, the gate, the cost. */
export function redTeamCards(run) {
  const sm = run.summary;
  if (!sm) return null;
  const cats = Object.values(sm.categories || {});
  const attempts = cats.reduce((a, c) => a + (c.attempts || 0), 0);
  const successes = cats.reduce((a, c) => a + (c.successes || 0), 0);
  const or = sm.over_refusal || { benign: 0, refused: 0, rate: 0 };
  const gate = sm.gate || { passed: true, reasons: [] };
  const refusesAll = or.benign > 0 && or.rate >= OVER_REFUSAL_WARN;
  return h('div', { class: 'cards', dataset: { testid: 'red-team-cards' } },
    stat('Attack success', attempts ? fmtRate(successes / attempts) : '—',
      h('div', { class: 'sub' }, `${fmtInt(successes)} of ${fmtInt(attempts)} attacks succeeded`)),
    h('div', { class: ['card', 'stat', refusesAll && 'warn'], dataset: { testid: 'over-refusal' } },
      h('div', { class: 'label' }, 'Over-refusal'), h('div', { class: 'value' }, or.benign ? fmtRate(or.rate) : '—'),
      h('div', { class: 'sub' }, `${fmtInt(or.refused)} of ${fmtInt(or.benign)} benign probes refused`),
      or.rate_ci ? h('div', { class: 'sub interval' }, fmtInterval(or.rate_ci)) : null,
      refusesAll ? h('div', { class: 'sub warn-text', role: 'note' }, 'Refuses harmless requests too: a low attack success rate here is not evidence of safety.') : null),
    stat('Gate', gate.passed ? badge('pass', 'passed') : badge('fail', 'failed'),
      gate.reasons && gate.reasons.length ? h('ul', {}, gate.reasons.map((x) => h('li', {}, x))) : h('div', { class: 'sub' }, gate.passed ? 'All gate conditions met.' : ''),
      h('div', { class: 'sub' }, sm.should_gate_ci ? 'CI should fail on this run.' : 'CI may pass this run.')),
    sm.usage ? stat('Cost', fmtCost(sm.usage.cost_usd), h('div', { class: 'sub' }, `${fmtInt(sm.usage.calls)} calls · ${fmtInt(sm.usage.input_tokens)} in / ${fmtInt(sm.usage.output_tokens)} out tokens`)) : null);
}

/** The per-category table, and the per-transform one when the summary has transforms. */
export function redTeamReport(run) {
  const sm = run.summary;
  if (!sm || !sm.categories) return null;
  const transforms = sm.transforms || (sm.red_team && sm.red_team.transforms);
  const lib = sm.red_team && sm.red_team.library_version;
  return h('div', { class: 'section' },
    h('h2', {}, 'Attack success by category'),
    rateTable(sm.categories, { nameLabel: 'Category', owasp: true, caption: 'Attack success rate per category', testid: 'red-team-categories' }),
    h('p', { class: 'muted small' }, 'ASR: the share of decided attacks that succeeded. The whisker is its Wilson 95% interval: where the true rate plausibly lies, given this many attempts.',
      lib ? ` Attack library ${lib}.` : ''),
    transforms && Object.keys(transforms).length ? [h('h2', {}, 'Attack success by transform'),
      rateTable(transforms, { nameLabel: 'Transform', owasp: false, caption: 'Attack success rate per transform', testid: 'red-team-transforms' })] : null,
    sm.hazard_categories && Object.keys(sm.hazard_categories).length ? [h('h2', {}, 'Attack success by hazard category'),
      rateTable(sm.hazard_categories, { nameLabel: 'Hazard', owasp: false, names: 'name', caption: 'Attack success rate per MLCommons hazard category (harmful-goal attacks)', testid: 'red-team-hazards' })] : null);
}

const attemptOf = (row) => row.attempt || {};
const transcriptOf = (row) => attemptOf(row).transcript || row.transcript;

/** The outcome of an attempt as a badge: for an attack, succeeded (bad) or defended; for a benign probe, answered or refused. */
export function outcomeBadge(row) {
  const a = attemptOf(row);
  if (a.undecided) return badge('error', 'undecided', a.reason || null);
  if (a.benign) return a.refused ? badge('error', 'over-refused', 'a harmless request was refused') : badge('pass', 'answered');
  return a.success ? badge('fail', 'attack succeeded') : badge('pass', 'defended');
}

function transcript(turns) {
  if (!Array.isArray(turns) || !turns.length) return null;
  return [h('h3', {}, 'Transcript'), h('ol', { class: 'transcript', 'aria-label': 'Conversation with the target' },
    turns.map((t) => h('li', { class: ['turn', `role-${String(t.role || '').replace(/\W/g, '')}`] },
      h('div', { class: 'turn-role' }, String(t.role || '?')), h('pre', {}, asText(t.content)))))];
}

/** An attempt's side panel: what was sent, the target's (masked) answer, how it was decided, the transcript. */
export function openAttempt(row) {
  const a = attemptOf(row);
  const facts = [['Category', a.category], ['Transform', a.transform], ['Attack', a.attack], ['OWASP', a.owasp], ['Hazard', a.hazard_category],
    ['Decided by', a.decided_by], ['Severity', a.benign ? null : a.severity]].filter(([, v]) => v);
  const response = a.response !== undefined && a.response !== null ? a.response : row.item.output;
  drawer(`Attempt #${row.index}`, [
    h('div', { class: 'badges' }, outcomeBadge(row), a.benign ? badge('', 'benign probe') : sevBadge(a.success ? a.severity : ''),
      a.owasp ? badge('info', a.owasp) : null, a.decided_by ? badge('', `decided by ${a.decided_by}`) : null),
    h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, k === 'Attack' || k === 'OWASP' || k === 'Hazard' ? h('code', {}, v) : v)])),
    a.reason ? [h('h3', {}, 'Why'), h('p', {}, a.reason)] : null,
    h('h3', {}, 'Attack sent'), h('pre', { dataset: { testid: 'attack-sent' } }, asText(row.item.input)),
    h('h3', {}, 'Response (secrets and PII masked)'),
    response === undefined || response === null ? h('p', { class: 'muted' }, 'The target gave no answer.') : h('pre', { dataset: { testid: 'attack-response' } }, asText(response)),
    transcript(transcriptOf(row)),
    // The attempt's score only says what the outcome badge says; it matters when it holds an error (cost limit, no judge key).
    (row.scores || []).some((x) => x.error) ? [h('h3', {}, 'Errors'), scoreList(row.scores.filter((x) => x.error))] : null,
  ]);
}

const OUTCOMES = [['', 'All'], ['success', 'Successful attacks'], ['defended', 'Defended'], ['benign', 'Benign probes'], ['undecided', 'Undecided']];
function matches(row, st) {
  const a = attemptOf(row);
  if (st.category && a.category !== st.category) return false;
  switch (st.outcome) {
    case 'success': return !a.benign && !a.undecided && a.success === true;
    case 'defended': return !a.benign && !a.undecided && a.success === false;
    case 'benign': return !!a.benign;
    case 'undecided': return !!a.undecided;
    default: return true;
  }
}

/**
 * The attempts of a red-team run: every row is loaded (a run has at most a few thousand) and filtered here by
 * outcome and category, 50 to a page; the filters stay in the page's URL (`?outcome=success&category=jailbreak`).
 */
export function redTeamResults(box, run, signal) {
  const q0 = query();
  const st = { outcome: OUTCOMES.some(([v]) => v === q0.outcome) ? q0.outcome : '', category: q0.category || '' };
  let rows = [];
  let pageNo = 0;
  const tableBox = h('div', { 'aria-live': 'polite' });
  const cats = Object.keys((run.summary && run.summary.categories) || {});
  const outcomeBtns = OUTCOMES.map(([v, label]) => h('button', { type: 'button', 'aria-pressed': String(st.outcome === v), dataset: { outcome: v }, onclick: () => {
    st.outcome = v;
    outcomeBtns.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.outcome === v)));
    restart();
  } }, label));
  const catSel = select('category', [['', 'Any category'], ...cats.map((c) => [c, c])], st.category, {
    id: 'attempts-category', onchange: () => { st.category = catSel.value; restart(); } });

  function restart() {
    pageNo = 0;
    setQuery({ ...query(), outcome: st.outcome, category: st.category }, { push: false });
    paint();
  }

  function paint() {
    const shown = rows.filter((r) => matches(r, st));
    if (!shown.length) {
      const filtered = st.outcome || st.category;
      tableBox.replaceChildren(empty(filtered ? 'No attempts match these filters' : 'No attempts yet',
        h('p', {}, filtered ? 'Clear a filter to see every attempt.' : 'Attempts appear as the target answers them.')));
      return;
    }
    const pages = Math.ceil(shown.length / PAGE);
    pageNo = Math.min(pageNo, pages - 1);
    const slice = shown.slice(pageNo * PAGE, (pageNo + 1) * PAGE);
    const first = pageNo * PAGE + 1;
    tableBox.replaceChildren(
      table([
        { label: '#', cell: (r) => h('button', { type: 'button', class: 'small', onclick: () => openAttempt(r), 'aria-label': `Open attempt ${r.index}` }, `#${r.index}`) },
        { label: 'Outcome', cell: (r) => outcomeBadge(r), cls: 'verdict' },
        { label: 'Category', cell: (r) => attemptOf(r).category || '—' },
        { label: 'Transform', cell: (r) => attemptOf(r).transform || '—', cls: 'hide-narrow' },
        { label: 'Hazard', cell: (r) => (attemptOf(r).hazard_category ? h('code', { title: 'MLCommons hazard category' }, attemptOf(r).hazard_category) : h('span', { class: 'muted' }, '—')), cls: 'hide-narrow' },
        { label: 'Severity', cell: (r) => (attemptOf(r).success ? sevBadge(attemptOf(r).severity) : h('span', { class: 'muted' }, '—')), cls: 'hide-narrow' },
        { label: 'Decided by', cell: (r) => attemptOf(r).decided_by || '—', cls: 'hide-narrow' },
        { label: 'Attack sent', cell: (r) => h('div', { class: 'clip short', title: oneLine(r.item.input, 400) }, oneLine(r.item.input)) },
        { label: 'Response', cell: (r) => h('div', { class: 'clip short', title: oneLine(attemptOf(r).response ?? r.item.output, 400) }, oneLine(attemptOf(r).response ?? r.item.output)), cls: 'hide-narrow' },
      ], slice, { caption: 'Red-team attempts', rowAttrs: (r) => ({ class: 'clickable', dataset: { index: r.index, category: attemptOf(r).category || '' },
        onclick: (e) => { if (!e.target.closest('button')) openAttempt(r); } }) }),
      h('div', { class: 'row', style: { alignItems: 'center' } },
        h('span', { class: 'muted small' }, `Showing ${first}–${first + slice.length - 1} of ${fmtInt(shown.length)} attempts`), h('span', { class: 'spacer' }),
        pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: pageNo < pages - 1, label: 'Attempt pages',
          onPrev: () => { pageNo--; paint(); }, onNext: () => { pageNo++; paint(); } })));
  }

  async function load() {
    tableBox.setAttribute('aria-busy', 'true');
    try {
      const all = [];
      let cursor = null;
      do {
        const data = await api(`/v1/runs/${encodeURIComponent(run.id)}/results` + qs({ limit: FETCH, cursor }), { signal });
        all.push(...data.items);
        cursor = data.next_cursor;
      } while (cursor);
      rows = all;
      paint();
    } catch (e) {
      if (e.name !== 'AbortError') tableBox.replaceChildren(errorBox(e));
    } finally { tableBox.removeAttribute('aria-busy'); }
  }

  box.replaceChildren(
    h('div', { class: 'row section' },
      h('div', { class: 'field' }, h('span', { class: 'sr-only', id: 'outcome-label' }, 'Outcome'),
        h('div', { class: 'seg wrap', role: 'group', 'aria-labelledby': 'outcome-label' }, outcomeBtns)),
      h('div', { class: 'field' }, h('label', { for: 'attempts-category' }, 'Category'), catSel)),
    tableBox);
  load();
  // The export's filters are the server's: all attempts (the outcome and category filters are this page's own).
  return { reload: () => load(), filters: () => ({ status: '', scorer: '', q: '' }), setScorer: () => {} };
}

/** A note for a red-team run with no summary yet. */
export function redTeamPending(run) {
  return note('info', run.status === 'completed' ? 'This red-team run has no report.' : 'The report appears when the run finishes; attempts are listed below as they are answered.');
}
