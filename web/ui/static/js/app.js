// The console: hash routing (#/alerts?team=…), one page at a time, each
// refreshed every 10 s unless the operator is editing a form.

import { h, fill } from './dom.js';
import { ago } from './format.js';
import alertsPage from './pages/alerts.js';
import silencesPage from './pages/silences.js';
import rulesPage from './pages/rules.js';
import targetsPage from './pages/targets.js';
import queryPage from './pages/query.js';
import notificationsPage from './pages/notifications.js';
import statusPage from './pages/status.js';
import escalationPage from './pages/escalation.js';
import versionsPage from './pages/versions.js';
import dashboardsPage from './pages/dashboards.js';
import sloPage from './pages/slo.js';

const pages = {
  alerts: { title: 'Alerts', make: alertsPage },
  silences: { title: 'Silences', make: silencesPage },
  rules: { title: 'Rules', make: rulesPage },
  targets: { title: 'Targets', make: targetsPage },
  query: { title: 'Query', make: queryPage },
  dashboards: { title: 'Dashboards', make: dashboardsPage },
  notifications: { title: 'Notifications', make: notificationsPage },
  escalation: { title: 'Escalation', make: escalationPage },
  status: { title: 'Status', make: statusPage },
  versions: { title: 'Configuration', make: versionsPage },
  slo: { title: 'SLOs', make: sloPage },
};

export const REFRESH_MS = 10000;

const root = document.getElementById('app');
const banner = document.getElementById('banner');
const stateEl = document.getElementById('refresh-state');
const toggle = document.getElementById('refresh-toggle');

let current = null; // {name, page, ctx, sub, params}
let paused = false;
let inflight = null;
let lastRefresh = 0;
let lastError = null;
let lastDuration = 0;
let generation = 0;

// parseHash reads the route; a malformed one (bad percent-encoding) is
// reported in bad and read as the alerts page.
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?', 2);
  try {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    return { name: parts[0] || 'alerts', sub: parts.slice(1), params: new URLSearchParams(query || '') };
  } catch {
    return { name: 'alerts', sub: [], params: new URLSearchParams(), bad: location.hash };
  }
}

function showBanner(msg, kind) {
  if (!msg) {
    banner.hidden = true;
    fill(banner);
    return;
  }
  banner.hidden = false;
  banner.className = 'banner ' + (kind || 'error');
  fill(banner, h('span', null, msg), h('button', { type: 'button', class: 'btn small ghost', onclick: () => showBanner(null) }, 'Dismiss'));
}

// editing says whether the operator is in the middle of a form, when a
// refresh must not redraw under their cursor.
function editing() {
  if (document.querySelector('dialog[open]')) return true;
  const a = document.activeElement;
  if (a && root.contains(a) && a.matches('input:not([type=checkbox]):not([type=radio]), textarea, [contenteditable="true"]')) return true;
  return !!(current && current.page.busy && current.page.busy());
}

let again = false;

async function refresh(force) {
  if (!current) return;
  if (inflight) {
    // An explicit refresh (after an ack, say) must see the change: run
    // again once the one in flight is done.
    if (force) again = true;
    return;
  }
  const gen = generation;
  const page = current.page;
  const started = Date.now();
  inflight = (async () => {
    try {
      await page.refresh(force);
      if (gen !== generation) return;
      lastError = null;
      if (banner.dataset.source === 'refresh') showBanner(null);
    } catch (e) {
      if (gen !== generation) return;
      lastError = e;
      console.error(e);
      showBanner(`Refresh failed: ${e.message}`, 'error');
      banner.dataset.source = 'refresh';
    } finally {
      if (gen === generation) {
        lastRefresh = Date.now();
        lastDuration = lastRefresh - started;
        inflight = null;
        tick();
        if (again) {
          again = false;
          refresh(true);
        }
      }
    }
  })();
  return inflight;
}

function tick() {
  if (!current) return;
  let text;
  if (inflight) text = 'Updating…';
  else if (paused) text = 'Auto-refresh paused';
  else if (editing()) text = 'Paused while editing';
  else text = lastRefresh ? `Updated ${ago(new Date(lastRefresh))}` : '';
  if (lastError && !inflight) text = 'Last refresh failed';
  stateEl.textContent = text;
  toggle.textContent = paused ? 'Resume' : 'Pause';
}

setInterval(() => {
  tick();
  if (!current || paused || inflight || document.hidden || editing()) return;
  // A page that takes long to load (10,000 alerts) refreshes less often,
  // so the console never keeps the appliance busy.
  if (Date.now() - lastRefresh >= Math.max(REFRESH_MS, 4 * lastDuration)) refresh(false);
}, 1000);

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// setParams rewrites the query part of the current route without a reload,
// so filters survive a browser refresh and can be shared as links.
function setParams(params) {
  const { name, sub } = parseHash();
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) qs.set(k, v);
  const path = '#/' + [name, ...sub].map(encodeURIComponent).join('/');
  const q = qs.toString();
  history.replaceState(null, '', path + (q ? '?' + q : ''));
}

let flashKeep = null;

// flash shows a message; it stays on this page, or survives the move to
// next when the message announces it (a silence created, then its list).
function flash(msg, kind = 'ok', next = null) {
  showBanner(msg, kind);
  flashKeep = next;
  banner.dataset.source = 'flash';
  if (kind === 'ok') setTimeout(() => { if (banner.dataset.source === 'flash') showBanner(null); }, 6000);
}

function route() {
  const parsed = parseHash();
  let { name, sub, params } = parsed;
  let def = pages[name];
  let notice = parsed.bad ? `The address ${parsed.bad.slice(0, 80)} is malformed: showing the alerts.` : null;
  if (!def) {
    // An unknown page (a stale bookmark, a typo) shows the alerts rather
    // than a blank page, and says so.
    notice = `No page "${name.slice(0, 40)}": showing the alerts.`;
    name = 'alerts';
    sub = [];
    params = new URLSearchParams();
    def = pages.alerts;
  }
  if (current && current.page.destroy) current.page.destroy();
  generation++;
  inflight = null;
  again = false;
  lastRefresh = 0;
  lastDuration = 0;
  lastError = null;
  if (banner.dataset.source === 'refresh' || banner.dataset.source === 'route' || (banner.dataset.source === 'flash' && location.hash !== flashKeep)) showBanner(null);
  flashKeep = null;
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === name);
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  fill(root);
  if (notice) {
    history.replaceState(null, '', '#/alerts');
    showBanner(notice, 'error');
    banner.dataset.source = 'route';
  }
  document.title = `${def.title} · SMM Appliance`;
  root.dataset.page = name;
  const ctx = { root, sub, params, navigate, setParams, flash, refresh: () => refresh(true), editing };
  current = { name, ctx, page: def.make(ctx) };
  refresh(true);
}

toggle.addEventListener('click', () => {
  paused = !paused;
  tick();
});
document.getElementById('refresh-now').addEventListener('click', () => refresh(true));
window.addEventListener('hashchange', route);
route();

// The caller's role decides which actions are shown: a viewer sees no Ack,
// Silence or Expire buttons (the server refuses them anyway). Without
// authentication the server says admin; when whoami cannot be read the
// console shows the viewer view, the one that offers nothing the caller
// may not be allowed to do.
document.documentElement.dataset.role = 'viewer';
fetch('api/v1/appliance/whoami', { credentials: 'same-origin' })
  .then((r) => (r.ok ? r.json() : null))
  .then((j) => {
    const role = (j && j.data && j.data.role) || 'viewer';
    document.documentElement.dataset.role = role;
    showWhoami(j && j.data);
  })
  .catch(() => showWhoami(null));

// showWhoami says who the console acts as, with Log out for a signed-in
// session (basic-auth callers cannot be logged out by a page) and Sign in
// for anonymous access.
function showWhoami(id) {
  const el = document.getElementById('whoami');
  if (!el) return;
  if (!id) return fill(el, h('span', { class: 'muted', title: 'GET api/v1/appliance/whoami failed: showing the viewer view' }, 'Unknown user (viewer view)'));
  if (!id.authEnabled) return fill(el, h('span', { class: 'muted', id: 'whoami-user', title: 'No users are configured in the web config' }, `Authentication off (${id.role})`));
  if (!id.user) return fill(el, h('span', { id: 'whoami-user' }, `Anonymous (${id.role})`), h('a', { class: 'btn small ghost', href: 'login', id: 'login-link' }, 'Sign in'));
  fill(el, h('span', { id: 'whoami-user' }, 'Signed in as ', h('b', null, id.user), ` (${id.role})`),
    id.session ? h('form', { method: 'post', action: 'logout', class: 'inline' }, h('button', { type: 'submit', class: 'btn small ghost', id: 'logout' }, 'Log out')) : null);
}
