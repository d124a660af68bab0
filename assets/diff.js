// A small word-level diff for the compare page: the longest common subsequence of word tokens (whitespace runs are
// tokens too, so the text renders as it was), after trimming the common prefix and suffix. Bounded: each side is
// diffed on at most DIFF_MAX_TOKENS tokens (the rest is shown undiffed, with a note), so the table stays at most
// DIFF_MAX_TOKENS² cells (2 bytes each: 8 MB at 2,000 tokens). Rendering uses text nodes only: item text is hostile.

import { h } from './ui.js';

/** Tokens per side that are diffed; beyond this the rest of the text is appended without marks. */
export const DIFF_MAX_TOKENS = 2000;

export const tokenize = (text) => (text ? String(text).match(/\s+|[^\s]+/g) || [] : []);

/** [{op: 'eq'|'del'|'ins', text}] turning `a` into `b`; `truncated` when a side was longer than DIFF_MAX_TOKENS. */
export function wordDiff(a, b) {
  const ta = tokenize(a), tb = tokenize(b);
  const truncated = ta.length > DIFF_MAX_TOKENS || tb.length > DIFF_MAX_TOKENS;
  const x = ta.slice(0, DIFF_MAX_TOKENS), y = tb.slice(0, DIFF_MAX_TOKENS);
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  const xs = x.slice(pre, x.length - suf), ys = y.slice(pre, y.length - suf);
  const n = xs.length, m = ys.length;
  // lcs[i][j] = LCS length of xs[i..] and ys[j..], row-major in one typed array.
  const w = m + 1;
  const lcs = new Uint16Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = xs[i] === ys[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const ops = [];
  const push = (op, text) => { const last = ops[ops.length - 1]; if (last && last.op === op) last.text += text; else ops.push({ op, text }); };
  if (pre) push('eq', x.slice(0, pre).join(''));
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (xs[i] === ys[j]) { push('eq', xs[i]); i++; j++; }
    else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) { push('del', xs[i]); i++; }
    else { push('ins', ys[j]); j++; }
  }
  while (i < n) push('del', xs[i++]);
  while (j < m) push('ins', ys[j++]);
  if (suf) push('eq', x.slice(x.length - suf).join(''));
  return { ops, truncated, restA: ta.slice(DIFF_MAX_TOKENS).join(''), restB: tb.slice(DIFF_MAX_TOKENS).join('') };
}

/** One side of the diff as a <pre>: `base` shows deletions, `head` insertions; whitespace-only changes unmarked. */
export function diffPane(diff, side) {
  const parts = [];
  for (const { op, text } of diff.ops) {
    if (op === 'eq') parts.push(text);
    else if (op === 'del' && side === 'base') parts.push(/^\s+$/.test(text) ? text : h('del', { class: 'diff-del' }, text));
    else if (op === 'ins' && side === 'head') parts.push(/^\s+$/.test(text) ? text : h('ins', { class: 'diff-ins' }, text));
  }
  const rest = side === 'base' ? diff.restA : diff.restB;
  if (rest) parts.push(h('span', { class: 'muted' }, rest));
  return h('pre', { class: 'diff' }, parts);
}
