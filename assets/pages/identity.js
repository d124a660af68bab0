// A run's identity as the run JSON carries it (when the server has it): `name`, `labels` ({key: value}), with
// `labels.commit` shown as a short sha and `labels.branch` as the branch. Runs without them show their id.

import { h, shortId } from '../ui.js';

const labelsOf = (run) => (run && run.labels && typeof run.labels === 'object' && !Array.isArray(run.labels) ? run.labels : {});

/** The run's name, or its short id when it has none. */
export const runName = (run) => (typeof run.name === 'string' && run.name.trim() ? run.name : shortId(run.id));

/** Commit (short sha), branch, then the other labels, as chips; null when the run has no labels. */
export function identityChips(run) {
  const labels = labelsOf(run);
  const keys = Object.keys(labels);
  if (!keys.length) return null;
  const chips = [];
  if (typeof labels.commit === 'string' && labels.commit) {
    chips.push(h('span', { class: 'chip commit', title: `commit ${labels.commit}` }, labels.commit.slice(0, 7)));
  }
  if (typeof labels.branch === 'string' && labels.branch) {
    chips.push(h('span', { class: 'chip branch', title: `branch ${labels.branch}` }, '⎇ ', labels.branch));
  }
  for (const k of keys.sort()) {
    if (k === 'commit' || k === 'branch') continue;
    chips.push(h('span', { class: 'chip', title: `${k}: ${labels[k]}` }, `${k}: ${String(labels[k])}`));
  }
  return h('span', { class: 'chips' }, chips);
}
