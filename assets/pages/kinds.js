// Failure analysis and security audit: the run page's bucket chart / check table, and an item's evidence.
import { h, table, badge, fmtInt, fmtRate } from '../ui.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low'];
const worst = (sev) => SEVERITIES.find((s) => sev && sev[s] > 0) || '';
const sevBadge = (s) => (s ? badge(s === 'critical' || s === 'high' ? 'fail' : 'info', s) : '');

/** Buckets (failure analysis) or checks (security audit) of a finished run; null for an eval run. */
export function kindSummary(run) {
  const sm = run.summary;
  if (!sm) return null;
  if (sm.buckets) {
    const names = Object.keys(sm.buckets).sort((a, b) => sm.buckets[b].failed - sm.buckets[a].failed);
    const rows = table([
      { label: 'Bucket', cell: (n) => h('strong', {}, n) },
      { label: 'Failed items', cell: (n) => h('span', {}, fmtInt(sm.buckets[n].failed), h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { style: { width: sm.buckets[n].share * 100 + '%' } }))), num: true },
      { label: 'Share', cell: (n) => fmtRate(sm.buckets[n].share), num: true },
      { label: 'Worst', cell: (n) => sevBadge(worst(sm.buckets[n].severity)) },
      { label: 'Subcategories', cell: (n) => Object.entries(sm.buckets[n].subcategories || {}).map(([s, c]) => `${s} ×${c}`).join(', ') },
    ], names);
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
