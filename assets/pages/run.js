import { h, table, when, pageHead, statusBadge, badge, stat, fmtRate, fmtInterval, fmtCost, fmtInt, fmtNum, errorBox, projPath, projectTabs, note } from '../ui.js';
import { api, streamEvents } from '../api.js';
import { loadProject } from './project.js';
import { resultsView } from './results.js';
import { kindSummary } from './kinds.js';
import { runName, identityChips } from './identity.js';
import { exportBar } from './exportbar.js';
import { redTeamCards, redTeamReport, redTeamResults, redTeamPending } from './redteam.js';

const live = (r) => r.status === 'queued' || r.status === 'running';

function progressBlock(run) {
  const { done, total } = run.progress;
  const pct = total ? Math.min(100, (done / total) * 100) : 0;
  return h('div', { class: 'card section', role: 'status', 'aria-live': 'polite' },
    h('div', { class: 'row' }, statusBadge(run.status), h('strong', {}, `${fmtInt(done)} of ${fmtInt(total)} items scored`),
      h('span', { class: 'muted' }, `${pct.toFixed(0)}%`)),
    h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(total), 'aria-valuenow': String(done) },
      h('span', { style: { width: pct + '%' } })));
}

function summaryCards(run) {
  const sm = run.summary;
  if (!sm) return h('p', { class: 'muted' }, live(run) ? 'The summary appears when the run finishes.' : 'This run has no summary.');
  const gate = sm.gate || { passed: true, reasons: [] };
  return h('div', { class: 'cards' },
    stat('Pass rate', fmtRate(sm.pass_rate),
      sm.pass_rate_ci ? h('div', { class: 'sub interval', title: 'Wilson 95% interval: where the true pass rate plausibly lies, given this many items' }, fmtInterval(sm.pass_rate_ci)) : null,
      h('div', { class: 'sub' }, `${fmtInt(sm.passed)} passed · ${fmtInt(sm.failed)} failed${sm.unsure ? ` (${fmtInt(sm.unsure)} unsure)` : ''} · ${fmtInt(sm.errored)} errored of ${fmtInt(sm.items)}`)),
    stat('Gate', gate.passed ? badge('pass', 'passed') : badge('fail', 'failed'),
      gate.reasons && gate.reasons.length ? h('ul', {}, gate.reasons.map((r) => h('li', {}, r))) : h('div', { class: 'sub' }, gate.passed ? 'All gate conditions met.' : ''),
      sm.should_gate_ci ? h('div', { class: 'sub' }, 'CI should fail on this run.') : null),
    stat('Cost', fmtCost(sm.usage.cost_usd), h('div', { class: 'sub' }, `${fmtInt(sm.usage.calls)} judge calls · ${fmtInt(sm.usage.input_tokens)} in / ${fmtInt(sm.usage.output_tokens)} out tokens`)),
    stat('Cache hits', fmtInt(sm.usage.cache_hits), h('div', { class: 'sub' }, sm.usage.calls + sm.usage.cache_hits
      ? `${fmtRate(sm.usage.cache_hits / (sm.usage.calls + sm.usage.cache_hits))} of judge answers from cache` : 'No judge calls')));
}

function scorerTable(run, onPick) {
  const per = run.summary ? run.summary.per_scorer : {};
  const names = Object.keys(per);
  if (!names.length) return h('p', { class: 'muted' }, run.scorers.length ? `Scorers: ${run.scorers.join(', ')}` : 'No scorers.');
  return table([
    { label: 'Scorer', cell: (n) => h('strong', {}, n) },
    { label: 'Pass rate', cell: (n) => h('span', {}, fmtRate(per[n].pass_rate), h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { style: { width: per[n].pass_rate * 100 + '%' } }))), num: true },
    { label: '95% interval', cell: (n) => h('span', { class: 'muted interval' }, per[n].pass_rate_ci ? fmtInterval(per[n].pass_rate_ci).replace('95% CI ', '') : '—'), num: true },
    { label: 'Mean score', cell: (n) => fmtNum(per[n].mean), num: true },
    { label: 'Unsure', cell: (n) => (per[n].unsure ? badge('info', fmtInt(per[n].unsure)) : '0'), num: true, cls: 'hide-narrow' },
    { label: 'Errors', cell: (n) => (per[n].errors ? badge('error', fmtInt(per[n].errors)) : '0'), num: true },
    { label: '', cell: (n) => (per[n].pass_rate < 1 ? h('button', { type: 'button', class: 'small', onclick: () => onPick(n) }, 'Show failures') : '') },
  ], names);
}

export async function runPage({ params, el, signal }) {
  const [project, first] = await Promise.all([loadProject(params.p, signal), api(`/v1/runs/${encodeURIComponent(params.id)}`, { signal })]);
  let run = first;
  const headBox = h('div');
  const progressBox = h('div');
  const cardsBox = h('div');
  const scorerBox = h('div');
  const kindBox = h('div');
  const resultsBox = h('div');
  const exportBox = h('div');
  let results = null;
  const redTeam = first.kind === 'red_team';
  const scorerHead = h('h2', { hidden: redTeam }, 'Scorers');

  function renderHead() {
    const actions = [h('a', { class: 'button', href: projPath(project, `/compare?head=${encodeURIComponent(run.id)}`) }, 'Compare with…'),
      h('a', { class: 'button', href: projPath(project, `/runs/${encodeURIComponent(run.id)}/review`) }, 'Review queue')];
    if (redTeam) actions.push(h('a', { class: 'button', href: projPath(project, '/red-team') }, 'New red-team run'));
    if (live(run)) {
      actions.unshift(h('button', { type: 'button', class: 'danger', onclick: async (e) => {
        e.currentTarget.disabled = true;
        try { run = await api(`/v1/runs/${encodeURIComponent(run.id)}/cancel`, { method: 'POST' }); paint(); } catch (err) { progressBox.prepend(errorBox(err)); }
      } }, 'Cancel run'));
    }
    headBox.replaceChildren(pageHead(run.name ? runName(run) : ['Run ', h('span', { class: 'mono' }, run.id)], {
      crumbs: [h('a', { href: '/' }, 'Projects'), h('a', { href: projPath(project) }, project.name)],
      sub: [statusBadge(run.status), ` ${run.kind} · created `, when(run.created_at), run.finished_at ? [' · finished ', when(run.finished_at)] : null,
        run.dataset_id ? [' · dataset ', h('code', {}, run.dataset_id)] : null, run.name ? [' · ', h('code', {}, run.id)] : null,
        identityChips(run) ? [' ', identityChips(run)] : null],
      actions }));
  }
  function paint() {
    renderHead();
    progressBox.replaceChildren(live(run) ? progressBlock(run) : run.error ? errorBox({ message: run.error }) : '');
    if (redTeam) {
      // Attack success per category, over-refusal beside it, the gate (redteam.js); no scorer table.
      cardsBox.replaceChildren(redTeamCards(run) || redTeamPending(run));
      kindBox.replaceChildren(redTeamReport(run) || '');
      return;
    }
    cardsBox.replaceChildren(summaryCards(run));
    const kind = kindSummary(run, run.kind === 'failure_analysis'
      ? (b, sub) => { if (results) { results.setBucket(b, sub); resultsBox.scrollIntoView({ behavior: 'smooth' }); } } : undefined);
    kindBox.replaceChildren(...(kind ? [h('h2', {}, run.kind === 'security_audit' ? 'Checks' : 'Buckets'), kind] : []));
    scorerBox.replaceChildren(scorerTable(run, (n) => { results && results.setScorer(n); resultsBox.scrollIntoView({ behavior: 'smooth' }); }));
  }

  el.append(headBox, projectTabs(project, 'runs'), progressBox, cardsBox, kindBox, scorerHead, scorerBox, h('h2', { id: 'results' }, redTeam ? 'Attempts' : 'Results'), exportBox, resultsBox);
  paint();
  results = redTeam ? redTeamResults(resultsBox, run, signal) : resultsView(resultsBox, run, signal);
  exportBox.append(exportBar(run.id, () => results.filters(), signal));

  let lastReload = Date.now();
  if (live(run)) follow();
  async function follow() {
    try {
      await streamEvents(`/v1/runs/${encodeURIComponent(run.id)}/events`, {
        signal,
        onEvent: (name, data) => {
          if (name === 'progress' && data && data.progress) {
            const moved = data.status !== run.status;
            run = { ...run, status: data.status, progress: data.progress };
            if (moved) renderHead();
            progressBox.replaceChildren(progressBlock(run));
            if (Date.now() - lastReload > 3000) { lastReload = Date.now(); results.reload(); }
          } else if (name === 'summary' && data && data.id) {
            run = data;
            paint();
            results.reload();
          } else if (name === 'error') {
            progressBox.replaceChildren(errorBox({ message: data.error || 'the event stream failed' }));
          }
        },
      });
    } catch (e) {
      if (e.name === 'AbortError' || signal.aborted) return;
      progressBox.append(note('', `Live updates stopped: ${e.message}. Reload the page to see the latest state.`));
    }
  }
}
