// DOM building and formatting helpers. Server data only ever goes in through textContent and attributes.

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'open', 'indeterminate', 'multiple', 'required']);

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach((c) => append(el, c)); return; }
  el.append(child instanceof Node ? child : document.createTextNode(String(child)));
}

function apply(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') { const c = Array.isArray(v) ? v.filter(Boolean).join(' ') : v; if (c) el.setAttribute('class', c); }
    else if (k === 'text') el.textContent = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** h('a', {href, class}, ...children) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
/** SVG element builder. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

// ---- formatting
export const fmtCost = (n) => (typeof n === 'number' && isFinite(n) ? '$' + n.toFixed(4) : '—');
export const fmtRate = (r) => (typeof r === 'number' && isFinite(r) ? (r * 100).toFixed(1) + '%' : '—');
/** A Wilson 95 % interval `[lo, hi]` as "95% CI 53.1–88.8%": how far a pass rate on this many items may be off. */
export const fmtInterval = (ci) => (Array.isArray(ci) && ci.length === 2 ? `95% CI ${(ci[0] * 100).toFixed(1)}–${(ci[1] * 100).toFixed(1)}%` : '');
export const fmtInt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '—');
export const fmtNum = (n, d = 3) => (typeof n === 'number' && isFinite(n) ? String(Number(n.toFixed(d))) : '—');

export function relText(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!iso || isNaN(t)) return '—';
  let d = Math.round((now - t) / 1000);
  const future = d < 0;
  d = Math.abs(d);
  let txt;
  if (d < 45) return 'just now';
  if (d < 90 * 60) txt = `${Math.max(1, Math.round(d / 60))} min`;
  else if (d < 36 * 3600) txt = `${Math.round(d / 3600)} h`;
  else if (d < 45 * 86400) txt = `${Math.round(d / 86400)} days`;
  else return new Date(t).toISOString().slice(0, 10);
  return future ? `in ${txt}` : `${txt} ago`;
}

/** A <time> with relative text and the ISO time in its title. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: iso }, relText(iso));
}

export const shortId = (id) => (id && id.length > 10 ? id.slice(0, 10) + '…' : id || '');

/** Any JSON value as display text: strings as they are, the rest pretty-printed. */
export function asText(v) {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}
export const oneLine = (v, max = 140) => { const t = asText(v).replace(/\s+/g, ' ').trim(); return t.length > max ? t.slice(0, max) + '…' : t; };

// ---- components
export function badge(kind, text, title) { return h('span', { class: ['badge', kind], title }, text); }

export function statusBadge(status) {
  const kind = { completed: 'pass', failed: 'fail', cancelled: 'error', running: 'info', queued: '' }[status] ?? '';
  return badge(kind, status);
}
export function verdictBadge(row) {
  if (row.errored) return badge('error', 'errored');
  return row.passed ? badge('pass', 'passed') : badge('fail', 'failed');
}
export function gateBadge(summary) {
  if (!summary || !summary.gate) return badge('', 'no gate');
  return summary.gate.passed ? badge('pass', 'gate passed') : badge('fail', 'gate failed');
}

export function errorBox(err, extra) {
  const msg = err && err.message ? err.message : String(err);
  return h('div', { class: 'alert', role: 'alert' }, msg, err && err.code ? h('span', { class: 'code' }, err.code) : null, extra || null);
}
export function note(kind, ...children) { return h('div', { class: ['alert', kind], role: 'status' }, ...children); }

export function empty(title, ...body) { return h('div', { class: 'empty' }, h('strong', {}, title), ...body); }

export function stat(label, value, ...sub) {
  return h('div', { class: 'card stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), ...sub);
}

export function pageHead(title, { crumbs = [], actions = [], sub } = {}) {
  return h('div', { class: 'page-head' },
    h('div', {},
      crumbs.length ? h('div', { class: 'crumbs' }, crumbs.flatMap((c, i) => [i ? ' / ' : '', c])) : null,
      h('h1', {}, title), sub ? h('div', { class: 'muted small' }, sub) : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}

/** cols: [{label, cell(row) -> node|string, num?, cls?}] */
export function table(cols, rows, { caption, rowAttrs } = {}) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: [c.num && 'num', c.cls] }, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {},
      cols.map((c) => h('td', { class: [c.num && 'num', c.cls] }, c.cell(r))))))));
}

export function pager({ page, hasPrev, hasNext, onPrev, onNext, label }) {
  return h('nav', { class: 'pager', 'aria-label': label || 'Pagination' },
    h('span', { class: 'muted small' }, `Page ${page}`),
    h('button', { type: 'button', disabled: !hasPrev, onclick: onPrev }, '← Previous'),
    h('button', { type: 'button', disabled: !hasNext, onclick: onNext }, 'Next →'));
}

/** A form field: label + control + hint + an error slot named after the API field. */
export function field(labelText, control, { hint, name, cls } = {}) {
  const id = control.id || (control.id = 'f-' + Math.random().toString(36).slice(2, 9));
  const err = h('div', { class: 'field-error', id: id + '-err', hidden: true, role: 'alert' });
  control.setAttribute('aria-describedby', id + '-err');
  return h('div', { class: ['field', cls], dataset: { field: name || control.name || '' } },
    h('label', { for: id }, labelText), control, hint ? h('div', { class: 'hint' }, hint) : null, err);
}

/** Show a 400's details.field next to the matching field of `form`; returns true when a field took it. */
export function showFieldError(form, err) {
  clearFieldErrors(form);
  const f = err && err.details && typeof err.details.field === 'string' ? err.details.field : null;
  if (!f) return false;
  const root = f.split(/[.[]/)[0];
  const box = form.querySelector(`.field[data-field="${CSS.escape(f)}"]`) || form.querySelector(`.field[data-field="${CSS.escape(root)}"]`);
  if (!box) return false;
  box.classList.add('invalid');
  const slot = box.querySelector('.field-error');
  slot.textContent = f === root || err.message.includes(f) ? err.message : `${f}: ${err.message}`;
  slot.hidden = false;
  box.querySelector('input,select,textarea')?.focus();
  return true;
}
export function clearFieldErrors(form) {
  form.querySelectorAll('.field.invalid').forEach((b) => b.classList.remove('invalid'));
  form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; e.hidden = true; });
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs }, options.map((o) => {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value }, label);
  }));
}

/** A modal confirm built on <dialog>; resolves true when confirmed. */
export function confirmDialog(message, okLabel = 'Delete') {
  return new Promise((resolve) => {
    const d = h('dialog', { class: 'confirm', 'aria-label': 'Confirm' },
      h('p', {}, message),
      h('form', { method: 'dialog', class: 'form-actions' },
        h('button', { value: 'ok', class: 'danger' }, okLabel),
        h('button', { value: 'cancel', autofocus: true }, 'Cancel')));
    d.addEventListener('close', () => { resolve(d.returnValue === 'ok'); d.remove(); });
    document.body.append(d);
    d.showModal();
  });
}

/** A side drawer (modal <dialog>): Escape or the close button closes it and focus returns where it was. */
export function drawer(title, body) {
  const back = document.activeElement;
  const d = h('dialog', { class: 'drawer', 'aria-labelledby': 'drawer-title' },
    h('div', { class: 'drawer-head' }, h('h2', { id: 'drawer-title' }, title),
      h('button', { type: 'button', onclick: () => d.close(), 'aria-label': 'Close panel' }, 'Close ✕')),
    h('div', { class: 'drawer-body' }, body));
  d.addEventListener('close', () => { d.remove(); if (back && back.isConnected) back.focus(); });
  d.addEventListener('click', (e) => { if (e.target === d) d.close(); });
  document.body.append(d);
  d.showModal();
  return d;
}

/** Debounce. */
export function debounce(fn, ms) { let t; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); }; }

export const maskPrefix = (p) => (p ? `${p}••••` : '••••');

/** The URL segment for a project: its name when that is URL-plain, else its id (a dot would look like a file). */
export const projKey = (p) => (typeof p === 'string' ? p : /^[A-Za-z0-9_-]+$/.test(p.name) ? p.name : p.id);
export const projPath = (p, rest = '') => `/projects/${encodeURIComponent(projKey(p))}${rest}`;

/** The tabs of a project page. */
export function projectTabs(p, active) {
  const tab = (id, label, rest) => h('a', { href: projPath(p, rest), 'aria-current': active === id ? 'page' : null }, label);
  return h('nav', { class: 'tabs', 'aria-label': 'Project' },
    tab('runs', 'Runs', ''), tab('compare', 'Compare', '/compare'), tab('scorers', 'Scorers', '/scorers'), tab('datasets', 'Datasets', '/datasets'));
}
