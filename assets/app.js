// Entry: the shell (top bar, navigation), the sign-in guard and the route table.

import { h } from './ui.js';
import { session, getKey, clearKey, whoAmI, isAdmin, isServerAdmin } from './api.js';
import { route, start, setGuard, navigate, render } from './router.js';
import { signinPage } from './pages/signin.js';
import { projectsPage } from './pages/projects.js';
import { projectPage } from './pages/project.js';
import { runPage } from './pages/run.js';
import { comparePage } from './pages/compare.js';
import { reviewQueuePage } from './pages/review.js';
import { scorersPage } from './pages/scorers.js';
import { datasetsPage } from './pages/datasets.js';
import { keysPage } from './pages/keys.js';
import { usagePage } from './pages/usage.js';
import { auditPage } from './pages/audit.js';
import { apiKeysPage } from './pages/apikeys.js';
import { orgsPage } from './pages/orgs.js';
import { newRunPage } from './pages/newrun.js';
import { redTeamPage } from './pages/redteamform.js';
import { datasetItemsPage } from './pages/datasetitems.js';
import { gatewayPage } from './pages/gateway.js';
import { settingsPage } from './pages/settings.js';

const NAV = [
  ['/', 'Projects', (p) => p === '/' || p.startsWith('/projects')],
  ['/provider-keys', 'Provider keys', (p) => p.startsWith('/provider-keys')],
  ['/gateway', 'Gateway', (p) => p.startsWith('/gateway')],
  ['/usage', 'Usage', (p) => p.startsWith('/usage')],
  ['/settings', 'Settings', (p) => p.startsWith('/settings')],
  ['/audit-log', 'Audit log', (p) => p.startsWith('/audit-log'), true],
  ['/api-keys', 'API keys', (p) => p.startsWith('/api-keys'), true],
];

function shell() {
  const bar = document.getElementById('topbar');
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const me = session.me;
  bar.hidden = !me;
  if (!me) { nav.replaceChildren(); who.replaceChildren(); return; }
  const path = location.pathname;
  if (isServerAdmin()) {
    nav.replaceChildren(h('a', { href: '/orgs', 'aria-current': path.startsWith('/orgs') ? 'page' : null }, 'Orgs'));
    who.replaceChildren(h('span', {}, 'Server admin ', h('span', { class: 'badge error' }, 'server admin')),
      h('button', { type: 'button', class: 'small', onclick: signOut }, 'Sign out'));
    return;
  }
  nav.replaceChildren(...NAV.filter((n) => !n[3] || isAdmin()).map(([href, label, active]) =>
    h('a', { href, 'aria-current': active(path) ? 'page' : null }, label)));
  who.replaceChildren(
    h('span', { title: me.key.key_prefix ? `key ${me.key.key_prefix}…` : null },
      me.org?.name ? `${me.org.name} · ` : '', me.key.name ? `${me.key.name} ` : '', h('span', { class: 'badge' }, me.key.role)),
    h('button', { type: 'button', class: 'small', onclick: signOut }, 'Sign out'));
}

function signOut() {
  clearKey();
  session.flash = null;
  navigate('/signin');
}

route('/signin', signinPage);
route('/', projectsPage);
route('/projects', projectsPage);
route('/projects/:p', projectPage);
route('/projects/:p/start', newRunPage);
route('/projects/:p/red-team', redTeamPage);
route('/projects/:p/runs/:id', runPage);
route('/projects/:p/runs/:id/review', reviewQueuePage);
route('/projects/:p/compare', comparePage);
route('/projects/:p/scorers', scorersPage);
route('/projects/:p/datasets', datasetsPage);
route('/projects/:p/datasets/:id', datasetItemsPage);
route('/orgs', orgsPage);
route('/provider-keys', keysPage);
route('/usage', usagePage);
route('/audit-log', auditPage);
route('/api-keys', apiKeysPage);
route('/gateway', gatewayPage);
route('/settings', settingsPage);

setGuard((path) => {
  if (!session.me && path !== '/signin') {
    return '/signin' + (path !== '/' ? '?next=' + encodeURIComponent(path + location.search) : '');
  }
  if (session.me && path === '/signin') return isServerAdmin() ? '/orgs' : '/';
  // The server admin key can do nothing inside an org: its only pages are the orgs.
  if (isServerAdmin() && path !== '/orgs') return '/orgs';
  if (session.me && !isServerAdmin() && path === '/orgs') return '/';
  return null;
});

document.addEventListener('gavel:route', shell);
window.addEventListener('gavel:signedout', () => {
  const here = location.pathname + location.search;
  history.replaceState(null, '', '/signin' + (here !== '/' && !here.startsWith('/signin') ? '?next=' + encodeURIComponent(here) : ''));
  render();
});

async function boot() {
  const key = getKey();
  if (key) {
    try { session.me = await whoAmI(key); } catch (e) {
      clearKey();
      session.flash = e.status === 401 ? 'Unknown or revoked API key: sign in again.' : e.message;
    }
  }
  start(document.getElementById('main'));
}

boot();
