// Failure analysis and security audit: the run page's bucket chart / check table, and an item's evidence.
import { h, table, badge, fmtInt, fmtRate, select } from '../ui.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low'];
const worst = (sev) => SEVERITIES.find((s) => sev && sev[s] > 0) || '';
const sevBadge = (s) => (s ? badge(s === 'critical' || s === 'high' ? 'fail' : 'info', s) : '');

/** Buckets (failure analysis) or checks (security audit) of a finished run; null for an eval run. With `onPick`,
 *  a bucket row (or one of its subcategories) filters the results list: `onPick(bucket, subcategory?)`. */
export function kindSummary(run, onPick) {
  const sm = run.summary;
  if (!sm) return null;
  if (sm.buckets) {
    const names = Object.keys(sm.buckets).sort((a, b) => sm.buckets[b].failed - sm.buckets[a].failed);
    const rows = table([
      { label: 'Bucket', cell: (n) => h('strong', {}, n) },
      { label: 'Failed items', cell: (n) => h('span', {}, fmtInt(sm.buckets[n].failed), h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { style: { width: sm.buckets[n].share * 100 + '%' } }))), num: true },
      { label: 'Share', cell: (n) => fmtRate(sm.buckets[n].share), num: true },
      { label: 'Worst', cell: (n) => sevBadge(worst(sm.buckets[n].severity)) },
      { label: 'Subcategories', cell: (n) => Object.entries(sm.buckets[n].subcategories || {}).map(([s, c]) => (onPick
        ? h('button', { type: 'button', class: 'small link', dataset: { subcategory: s }, 'aria-label': `Show ${n}.${s} failures`,
          onclick: (e) => { e.stopPropagation(); onPick(n, s); } }, `${s} ×${c}`)
        : `${s} ×${c} `)) },
    ], names, { rowAttrs: (n) => (onPick ? { class: 'clickable', dataset: { bucket: n }, title: `Show the items failing ${n}`,
      onclick: (e) => { if (!e.target.closest('button')) onPick(n); } } : { dataset: { bucket: n } }) });
    const systemic = (sm.systemic || []).map((s) => h('li', {}, `${s.bucket}.${s.subcategory}: ${s.failed} of ${s.applicable} items (systemic)`));
    return h('div', { class: 'section' }, names.length ? rows : h('p', { class: 'muted' }, 'No failures found.'),
      systemic.length ? h('ul', {}, systemic) : null);
  }
  if (sm.checks) {
    const names = Object.keys(sm.checks);
    return table([
      { label: 'Check', cell: (n) => h('strong', {}, n) },
      { label: 'Items flagged', cell: (n) => fmtInt(sm.checks[n].items_flagged), num: true },
      { label: 'Findings', cell: (n) => fmtInt(sm.checks[n].findings), num: true },
      { label: 'Worst', cell: (n) => sevBadge(worst(sm.checks[n].severity)) },
    ], names);
  }
  return null;
}

/** An item's analysis verdict or audit findings, with the evidence that decided. */
export function kindDetail(row) {
  if (row.analysis) {
    const a = row.analysis;
    const failing = (a.checks || []).filter((c) => c.decision === 'fail' || c.decision === 'unsure');
    return [h('h3', {}, 'Analysis'),
      h('p', {}, a.failed ? [sevBadge(a.severity), ` ${a.bucket}.${a.subcategory}: `, a.reason] : a.reason),
      failing.length ? table([
        { label: 'Check', cell: (c) => `${c.bucket}.${c.subcategory}` },
        { label: 'Decision', cell: (c) => badge(c.decision === 'fail' ? 'fail' : 'info', c.decision) },
        { label: 'Severity', cell: (c) => sevBadge(c.severity) },
        { label: 'Evidence', cell: (c) => c.evidence },
      ], failing) : null];
  }
  if (row.findings) {
    return [h('h3', {}, 'Findings'), row.findings.length ? table([
      { label: 'Check', cell: (f) => f.check },
      { label: 'Rule', cell: (f) => f.rule || '' },
      { label: 'Severity', cell: (f) => sevBadge(f.severity) },
      { label: 'Field', cell: (f) => f.field },
      { label: 'Evidence (masked)', cell: (f) => f.evidence },
    ], row.findings) : h('p', { class: 'muted' }, 'No findings.')];
  }
  return [];
}

/** The failure analysis's results filters (bucket, subcategory, severity) over `st`; `onChange` reloads the list.
 *  Options come from the run's summary (the buckets that failed), plus whatever a deep link named. */
export function analysisFilters(run, st, onChange) {
  const buckets = (run.summary && run.summary.buckets) || {};
  const bucketNames = Object.keys(buckets);
  if (st.bucket && !bucketNames.includes(st.bucket)) bucketNames.push(st.bucket);
  const subsOf = (b) => {
    const names = new Set(b ? Object.keys((buckets[b] && buckets[b].subcategories) || {}) : bucketNames.flatMap((n) => Object.keys((buckets[n] && buckets[n].subcategories) || {})));
    if (st.subcategory) names.add(st.subcategory);
    return [['', 'Any subcategory'], ...[...names].sort()];
  };
  const bucketSel = select('bucket', [['', 'Any bucket'], ...bucketNames], st.bucket, { id: 'results-bucket', onchange: () => {
    st.bucket = bucketSel.value;
    st.subcategory = '';
    fillSubs();
    onChange();
  } });
  const subSel = h('select', { name: 'subcategory', id: 'results-subcategory', onchange: () => { st.subcategory = subSel.value; onChange(); } });
  const sevSel = select('severity', [['', 'Any severity'], ...SEVERITIES], st.severity, { id: 'results-severity', onchange: () => { st.severity = sevSel.value; onChange(); } });
  function fillSubs() {
    subSel.replaceChildren(...subsOf(st.bucket).map((o) => {
      const [v, label] = Array.isArray(o) ? o : [o, o];
      return h('option', { value: v, selected: v === st.subcategory }, label);
    }));
    subSel.value = st.subcategory;
  }
  fillSubs();
  const el = h('div', { class: 'row section', role: 'group', 'aria-label': 'Failure analysis filters' },
    h('div', { class: 'field' }, h('label', { for: 'results-bucket' }, 'Bucket'), bucketSel),
    h('div', { class: 'field' }, h('label', { for: 'results-subcategory' }, 'Subcategory'), subSel),
    h('div', { class: 'field' }, h('label', { for: 'results-severity' }, 'Severity'), sevSel));
  return {
    el,
    /** Sets the filters (a bucket row was clicked) and reloads. */
    set(f) {
      Object.assign(st, f);
      if (st.bucket && ![...bucketSel.options].some((o) => o.value === st.bucket)) bucketSel.append(h('option', { value: st.bucket }, st.bucket));
      bucketSel.value = st.bucket;
      sevSel.value = st.severity;
      fillSubs();
      onChange();
    },
  };
}
