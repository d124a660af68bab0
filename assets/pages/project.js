import { h, table, when, empty, pageHead, pager, statusBadge, gateBadge, fmtRate, fmtCost, fmtInt, errorBox, projPath, projectTabs, debounce } from '../ui.js';
import { api, qs } from '../api.js';
import { setQuery } from '../router.js';
import { rateChart } from '../charts.js';
import { runName, identityChips } from './identity.js';

export async function loadProject(p, signal) {
  return api(`/v1/projects/${encodeURIComponent(p)}`, { signal });
}

function runsTable(project, runs) {
  return table([
    { label: 'Run', cell: (r) => h('div', { class: 'run-id' }, h('a', { href: projPath(project, `/runs/${encodeURIComponent(r.id)}`), class: r.name ? null : 'mono', title: r.id }, runName(r)),
      identityChips(r)) },
    { label: 'Status', cell: (r) => h('span', {}, statusBadge(r.status), r.status === 'running' || r.status === 'queued'
      ? h('span', { class: 'muted small' }, ` ${fmtInt(r.progress.done)}/${fmtInt(r.progress.total)}`) : null) },
    { label: 'Kind', cell: (r) => r.kind, cls: 'hide-narrow' },
    { label: 'Items', cell: (r) => fmtInt(r.summary ? r.summary.items : r.progress.total), num: true },
    { label: 'Pass rate', cell: (r) => (r.summary ? fmtRate(r.summary.pass_rate) : '—'), num: true },
    { label: 'Gate', cell: (r) => (r.summary ? gateBadge(r.summary) : '—'), cls: 'hide-narrow' },
    { label: 'Cost', cell: (r) => (r.summary ? fmtCost(r.summary.usage.cost_usd) : '—'), num: true, cls: 'hide-narrow' },
    { label: 'When', cell: (r) => when(r.created_at), cls: 'nowrap' },
  ], runs, {
    rowAttrs: () => ({ class: 'clickable', onclick: (e) => { if (!e.target.closest('a,button')) e.currentTarget.querySelector('a').click(); } }),
  });
}

export async function projectPage({ params, query, el, signal }) {
  const project = await loadProject(params.p, signal);
  const chartBox = h('div', { class: 'card section' }, h('p', { class: 'muted' }, 'Loading trend…'));
  // Runs by label (`?label=key:value`, as GET …/runs takes it).
  const label = h('input', { type: 'search', id: 'runs-label', name: 'label', value: query.label || '', placeholder: 'branch:main' });
  const labelForm = h('form', { class: 'row section', onsubmit: (e) => {
    e.preventDefault();
    const v = label.value.trim();
    if (v && !/^[^:]+:.*$/.test(v)) { listBox.replaceChildren(errorBox({ message: 'A label filter is key:value, e.g. branch:main.' })); return; }
    setQuery({ label: v }, { push: false });
    cursors = [null]; pageNo = 0;
    load().catch(fail);
  } }, h('div', { class: 'field' }, h('label', { for: 'runs-label' }, 'Label (key:value)'), label), h('button', { type: 'submit' }, 'Filter'));
  const listBox = h('div');
  el.append(
    pageHead(project.name, { crumbs: [h('a', { href: '/' }, 'Projects')], sub: ['project ', h('code', {}, project.id)],
      actions: [h('a', { class: 'button primary', href: projPath(project, '/start') }, 'Start a run'), h('a', { class: 'button', href: projPath(project, '/red-team') }, 'Red team'), h('a', { class: 'button', href: projPath(project, '/compare') }, 'Compare runs')] }),
    projectTabs(project, 'runs'),
    h('h2', {}, 'Pass rate over runs'), chartBox, h('h2', {}, 'Runs'), labelForm, listBox);

  let cursors = [null];
  let pageNo = 0;
  async function load() {
    const data = await api(`/v1/projects/${encodeURIComponent(project.id)}/runs` + qs({ limit: 25, cursor: cursors[pageNo], label: label.value.trim() }), { signal });
    cursors[pageNo + 1] = data.next_cursor;
    if (!data.items.length && pageNo === 0 && label.value.trim()) {
      listBox.replaceChildren(empty('No run has this label', h('p', {}, 'Clear the filter to see every run.')));
      return;
    }
    if (!data.items.length && pageNo === 0) {
      listBox.replaceChildren(empty('No runs yet',
        h('p', {}, 'Submit one from your CI or a shell:'),
        h('code', {}, `gavel eval --server ${location.origin} --api-key $KEY --project ${project.name} --dataset outputs.jsonl --scorer contains`)));
      return;
    }
    listBox.replaceChildren(runsTable(project, data.items),
      pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!data.next_cursor,
        onPrev: () => { pageNo--; load().catch(fail); }, onNext: () => { pageNo++; load().catch(fail); } }));
  }
  const fail = (e) => { if (e.name !== 'AbortError') listBox.replaceChildren(errorBox(e)); };

  async function trend() {
    const data = await api(`/v1/projects/${encodeURIComponent(project.id)}/runs?limit=200`, { signal });
    const pts = data.items.filter((r) => r.summary && r.status === 'completed').reverse().map((r) => ({
      label: r.created_at.slice(5, 10), value: r.summary.pass_rate, bad: r.summary.gate && !r.summary.gate.passed,
      title: `${r.created_at.slice(0, 16).replace('T', ' ')} · ${fmtRate(r.summary.pass_rate)} · ${r.summary.items} items${r.summary.gate && !r.summary.gate.passed ? ' · gate failed' : ''}`,
      href: projPath(project, `/runs/${encodeURIComponent(r.id)}`),
    }));
    if (!pts.length) { chartBox.replaceChildren(h('p', { class: 'muted' }, 'The trend appears once a run has completed.')); return; }
    const draw = () => chartBox.replaceChildren(rateChart(pts, { title: `Pass rate of the last ${pts.length} completed runs`, width: chartBox.clientWidth - 34 }),
      h('p', { class: 'muted small' }, `Last ${pts.length} completed runs, oldest left. Red rings: gate failed. Each point links to its run.`));
    draw();
    window.addEventListener('resize', debounce(draw, 250), { signal });
  }
  await Promise.all([load().catch(fail), trend().catch((e) => { if (e.name !== 'AbortError') chartBox.replaceChildren(errorBox(e)); })]);
}
