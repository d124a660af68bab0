// Human review: the pass/fail + comment control per item and judge scorer (run page's item panel and the review
// queue), the review-queue page, and a judge scorer's agreement with people (scorers page).

import { h, table, badge, pageHead, errorBox, empty, note, pager, oneLine, projPath, projectTabs, fmtRate, fmtNum } from '../ui.js';
import { api, qs, session } from '../api.js';
import { loadProject } from './project.js';
import { scoreBadge, openItem } from './results.js';

const PAGE = 25;
const JUDGE_TYPES = ['llm_judge', 'hallucination', 'relevance', 'coherence', 'faithfulness', 'answer_correctness', 'toxicity'];
export const isJudgeType = (t) => JUDGE_TYPES.includes(t);

const REASONS = { unsure: ['info', 'judge unsure'], disagreement: ['info', 'judges disagree'], failed: ['fail', 'judge failed'], rest: ['', 'to check'], reviewed: ['pass', 'reviewed by you'] };

/** The run's judge scorers (as the review queue ranks by them), fetched once per run. */
const judgeCache = new Map();
async function judgeScorers(run) {
  if (!judgeCache.has(run.id)) {
    judgeCache.set(run.id, api(`/v1/runs/${encodeURIComponent(run.id)}/review-queue?limit=1`)
      .then((d) => (d.items[0] ? d.items[0].judge_scorers : run.scorers)).catch(() => run.scorers));
  }
  return judgeCache.get(run.id);
}

/** Pass/fail buttons and a comment for one item and scorer; shows the caller's review when there is one. */
function reviewControl(runId, idx, scorer, reviews) {
  const mine = reviews.find((r) => r.scorer === scorer && r.reviewer === session.me?.key?.id);
  const others = reviews.filter((r) => r.scorer === scorer && r !== mine);
  const status = h('span', { class: 'small muted', 'aria-live': 'polite' }, mine ? `You said ${mine.pass ? 'pass' : 'fail'}` : 'Not reviewed by you');
  const comment = h('input', { type: 'text', name: 'comment', maxlength: 4000, value: mine?.comment || '', placeholder: 'Comment (optional)',
    'aria-label': `Comment on ${scorer} for item ${idx}` });
  const err = h('div');
  async function send(pass) {
    err.replaceChildren();
    try {
      const r = await api(`/v1/runs/${encodeURIComponent(runId)}/results/${idx}/reviews`, { method: 'POST', body: { scorer, pass, comment: comment.value.trim() || undefined } });
      status.textContent = `Saved: you said ${r.pass ? 'pass' : 'fail'}`;
      box.dataset.reviewed = r.pass ? 'pass' : 'fail';
    } catch (e) { err.replaceChildren(errorBox(e)); }
  }
  const box = h('div', { class: 'review', dataset: { scorer, reviewed: mine ? (mine.pass ? 'pass' : 'fail') : '' } },
    h('div', { class: 'row', style: { alignItems: 'center' } }, h('strong', {}, scorer),
      h('button', { type: 'button', class: 'small', 'aria-label': `Mark item ${idx} pass for ${scorer}`, onclick: () => send(true) }, 'Pass'),
      h('button', { type: 'button', class: 'small', 'aria-label': `Mark item ${idx} fail for ${scorer}`, onclick: () => send(false) }, 'Fail'),
      status),
    comment,
    others.length ? h('p', { class: 'small muted' }, others.map((r) => `${r.reviewer_name || r.reviewer}: ${r.pass ? 'pass' : 'fail'}${r.comment ? ` (“${r.comment}”)` : ''}`).join(' · ')) : null,
    err);
  return box;
}

/** The review section of an item's panel on the run page. */
export function reviewPanel(run, row) {
  const box = h('div', { class: 'reviews' }, h('p', { class: 'muted small' }, 'Loading reviews…'));
  (async () => {
    try {
      const [judges, reviews] = await Promise.all([judgeScorers(run),
        api(`/v1/runs/${encodeURIComponent(run.id)}/reviews` + qs({ idx: row.index, limit: 1000 }))]);
      box.replaceChildren(...judges.map((s) => reviewControl(run.id, row.index, s, reviews.items)));
    } catch (e) { box.replaceChildren(errorBox(e)); }
  })();
  return [h('h3', {}, 'Your review'), box];
}

/** /projects/:p/runs/:id/review — items needing review first. */
export async function reviewQueuePage({ params, el, signal }) {
  const [project, run] = await Promise.all([loadProject(params.p, signal), api(`/v1/runs/${encodeURIComponent(params.id)}`, { signal })]);
  const runUrl = projPath(project, `/runs/${encodeURIComponent(run.id)}`);
  let cursors = [null];
  let pageNo = 0;
  let hideReviewed = false;
  const listBox = h('div', { 'aria-live': 'polite' });
  const toggle = h('input', { type: 'checkbox', id: 'hide-reviewed', onchange: () => { hideReviewed = toggle.checked; cursors = [null]; pageNo = 0; load(); } });

  async function load() {
    listBox.setAttribute('aria-busy', 'true');
    try {
      const data = await api(`/v1/runs/${encodeURIComponent(run.id)}/review-queue` + qs({ limit: PAGE, cursor: cursors[pageNo], exclude_reviewed: hideReviewed || undefined }), { signal });
      cursors[pageNo + 1] = data.next_cursor;
      if (!data.items.length) {
        listBox.replaceChildren(empty(pageNo ? 'No more items' : 'Nothing to review', h('p', {}, hideReviewed ? 'You have reviewed every item of this run.' : 'This run has no results yet.')));
        return;
      }
      listBox.replaceChildren(table([
        { label: '#', cell: (r) => h('button', { type: 'button', class: 'small', onclick: () => openItem(r, run), 'aria-label': `Open item ${r.index}` }, `#${r.index}`) },
        { label: 'Why', cell: (r) => badge(...REASONS[r.reason]) },
        { label: 'Input / output', cell: (r) => h('div', {}, h('div', { class: 'clip' }, oneLine(r.item.input)), h('div', { class: 'clip muted' }, oneLine(r.item.output))) },
        { label: 'Judges', cell: (r) => h('span', { class: 'badges' }, r.scores.filter((s) => r.judge_scorers.includes(s.scorer)).map(scoreBadge)) },
        { label: 'Review', cell: (r) => h('div', {}, r.judge_scorers.map((s) => reviewControl(run.id, r.index, s, r.reviews))) },
      ], data.items, { rowAttrs: (r) => ({ dataset: { index: r.index, reason: r.reason } }) }),
      pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!data.next_cursor, label: 'Review queue pages',
        onPrev: () => { pageNo--; load(); }, onNext: () => { pageNo++; load(); } }));
    } catch (e) {
      if (e.name !== 'AbortError') listBox.replaceChildren(errorBox(e));
    } finally { listBox.removeAttribute('aria-busy'); }
  }

  el.append(pageHead(['Review queue ', h('span', { class: 'mono' }, run.id)], {
    crumbs: [h('a', { href: '/' }, 'Projects'), h('a', { href: projPath(project) }, project.name), h('a', { href: runUrl }, 'Run')],
    sub: 'Items a judge was unsure about or where judges disagreed come first, then judge failures, then the rest; what you reviewed goes last.' }),
  projectTabs(project, 'runs'),
  h('div', { class: 'row section' }, h('label', { for: 'hide-reviewed' }, toggle, ' Hide items I reviewed')),
  listBox);
  await load();
}

/** The scorers page's "agreement with people" cell for a judge scorer. */
export function agreementCell(project, scorer) {
  const box = h('span', { class: 'small muted', dataset: { agreement: scorer.name } }, isJudgeType(scorer.type) ? '…' : '—');
  if (!isJudgeType(scorer.type)) return box;
  api(`/v1/projects/${encodeURIComponent(project.id)}/scorers/${encodeURIComponent(scorer.id)}/agreement`).then((a) => {
    if (!a.reviews) { box.textContent = 'no reviews yet'; return; }
    const c = a.confusion;
    box.replaceChildren(
      h('span', { title: 'share of reviewed items where the judge agreed with people' }, `accuracy ${fmtRate(a.agreement)}`), ' · ',
      h('span', { title: a.kappa_note || "Cohen's kappa: agreement beyond chance (1 perfect, 0 chance)" }, `κ ${a.cohen_kappa === null ? 'n/a' : fmtNum(a.cohen_kappa, 2)}`), ' · ',
      h('span', { title: 'tp judge+people pass · fp judge pass, people fail · tn both fail · fn judge fail, people pass' }, `tp ${c.tp} fp ${c.fp} tn ${c.tn} fn ${c.fn}`),
      ` · ${a.reviews} reviews`);
  }).catch((e) => { box.textContent = `agreement unavailable: ${e.message}`; });
  return box;
}
