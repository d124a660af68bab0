// History routing: real links, intercepted clicks, one view at a time with an AbortSignal for its fetches and streams.

import { h, errorBox } from './ui.js';

const routes = [];
let outlet = null;
let current = null; // AbortController of the view on screen
let guard = () => null;

/** route('/projects/:p/runs/:id', handler, {title}) — handler({params, query, signal, el}) renders into el. */
export function route(pattern, handler) {
  const names = [];
  const rx = new RegExp('^' + pattern.replace(/\/:([a-z]+)/gi, (_, n) => { names.push(n); return '/([^/]+)'; }) + '/?$');
  routes.push({ rx, names, handler });
}

/** A function that may redirect before a view renders: (path) => null | '/signin' */
export function setGuard(fn) { guard = fn; }

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

/** Change the query string without rendering the view again (filters, pagination). */
export function setQuery(params, { push = true } = {}) {
  const u = new URL(location.href);
  u.search = '';
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  if (u.href === location.href) return;
  if (push) history.pushState(null, '', u.pathname + u.search);
  else history.replaceState(null, '', u.pathname + u.search);
}

export const query = () => Object.fromEntries(new URLSearchParams(location.search));

export async function render() {
  const path = location.pathname;
  const redirect = guard(path);
  if (redirect && redirect !== path) { history.replaceState(null, '', redirect); return render(); }
  if (current) current.abort();
  const ctl = new AbortController();
  current = ctl;
  document.dispatchEvent(new CustomEvent('gavel:route', { detail: { path } }));
  const el = h('div', { class: 'view' });
  outlet.replaceChildren(el);
  let match = null;
  for (const r of routes) {
    const m = r.rx.exec(path);
    if (m) { match = { r, params: Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) }; break; }
  }
  if (!match) {
    el.append(h('h1', {}, 'Page not found'), h('p', {}, 'Nothing lives at ', h('code', {}, path), '. ', h('a', { href: '/' }, 'Back to projects')));
    document.title = 'Not found · gavel';
    return;
  }
  try {
    await match.r.handler({ params: match.params, query: query(), signal: ctl.signal, el });
  } catch (e) {
    if (e.name === 'AbortError' || ctl.signal.aborted) return;
    if (e.status === 401) return; // signed out: the app shows the sign-in page
    el.replaceChildren(h('h1', {}, 'Something went wrong'), errorBox(e), h('p', {}, h('a', { href: '/' }, 'Back to projects')));
  }
  if (!ctl.signal.aborted) {
    const h1 = el.querySelector('h1');
    document.title = (h1 ? h1.textContent + ' · ' : '') + 'gavel';
  }
}

export function start(el) {
  outlet = el;
  window.addEventListener('popstate', render);
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a');
    if (!a || a.hasAttribute('data-native') || a.hasAttribute('download') || (a.target && a.target !== '_self')) return;
    const href = a.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('//')) return;
    const u = new URL(href, location.origin);
    if (u.pathname.split('/').pop().includes('.')) return; // a file: let the browser load it
    e.preventDefault();
    if (u.pathname + u.search === location.pathname + location.search && !u.hash) { render(); return; }
    navigate(u.pathname + u.search);
    el.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  });
  render();
}
