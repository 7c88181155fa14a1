// The dashboard: a hash-routed page over the REST API. Each view renders into
// its own container and registers its timers/streams on ctx, which are
// stopped when the user navigates away.
import { can, get, loadMe, signOut, ApiError } from './api.js';
import { clearStaleFlash, h, replace, errorText } from './dom.js';
import { homeView, orgsView, projectsView } from './view-orgs.js';
import { projectView } from './view-project.js';
import { deploymentView } from './view-deployment.js';
import { runsView, runView } from './view-runs.js';
import { membersView, auditView } from './view-members.js';
import { billingView } from './view-billing.js';
import { stateView } from './view-state.js';
import { channelView, notificationsView } from './view-notifications.js';

const routes = [
  [/^\/$/, homeView],
  [/^\/orgs$/, orgsView],
  [/^\/o\/([^/]+)$/, projectsView],
  [/^\/o\/([^/]+)\/p\/([^/]+)$/, projectView],
  [/^\/o\/([^/]+)\/p\/([^/]+)\/d\/([^/]+)$/, deploymentView],
  [/^\/o\/([^/]+)\/p\/([^/]+)\/d\/([^/]+)\/state$/, stateView],
  [/^\/o\/([^/]+)\/runs$/, runsView],
  [/^\/o\/([^/]+)\/runs\/([^/]+)$/, runView],
  [/^\/o\/([^/]+)\/members$/, membersView],
  [/^\/o\/([^/]+)\/audit$/, auditView],
  [/^\/o\/([^/]+)\/billing$/, billingView],
  [/^\/o\/([^/]+)\/notifications$/, notificationsView],
  [/^\/o\/([^/]+)\/notifications\/([^/]+)$/, channelView],
];

const state = { me: null, orgs: [], current: null };

export const navigate = (hash) => {
  if (location.hash === hash) void render();
  else location.hash = hash;
};

export async function refreshOrgs() {
  state.orgs = (await get('/orgs')).results;
  return state.orgs;
}

/** `#/o/acme/runs/<id>?a=b#L12` → path, query and the log line named by `#L12`. */
function parseHash() {
  const whole = location.hash.replace(/^#/, '') || '/';
  const [raw, lineRef] = whole.split(/#(?=L\d+$)/);
  const [path, query = ''] = raw.split('?');
  return {
    path: path || '/',
    query: new URLSearchParams(query),
    line: lineRef ? Number(lineRef.slice(1)) : null,
  };
}

function renderHeader(org, path) {
  const switcher = document.getElementById('org-switcher');
  const select = h(
    'select',
    {
      id: 'org-select',
      onchange: (e) => navigate(e.target.value === '' ? '#/orgs' : `#/o/${e.target.value}`),
    },
    h('option', { value: '' }, org ? 'All organizations…' : 'Choose an organization…'),
    state.orgs.map((o) => h('option', { value: o.slug }, o.name)),
  );
  select.value = org?.slug ?? '';
  replace(
    switcher,
    h('label', { for: 'org-select', class: 'visually-hidden' }, 'Organization'),
    select,
  );

  const nav = document.getElementById('nav');
  if (!org)
    replace(
      nav,
      h('a', { href: '#/orgs', 'aria-current': path === '/orgs' ? 'page' : null }, 'Organizations'),
    );
  else {
    const base = `#/o/${encodeURIComponent(org.slug)}`;
    const links = [
      ['Projects', base, (p) => p === `/o/${org.slug}` || p.includes('/p/')],
      ['Runs', `${base}/runs`, (p) => p.includes('/runs')],
      ['Notifications', `${base}/notifications`, (p) => p.includes('/notifications')],
      ['Members', `${base}/members`, (p) => p.endsWith('/members')],
    ];
    if (can(org.role, 'billing:read'))
      links.push(['Billing', `${base}/billing`, (p) => p.endsWith('/billing')]);
    if (can(org.role, 'audit:read'))
      links.push(['Audit log', `${base}/audit`, (p) => p.endsWith('/audit')]);
    replace(
      nav,
      links.map(([label, href, active]) =>
        h('a', { href, 'aria-current': active(path) ? 'page' : null }, label),
      ),
    );
  }

  replace(
    document.getElementById('user'),
    h('span', { class: 'login', title: state.me.user.name ?? '' }, state.me.user.login),
    h(
      'button',
      { type: 'button', class: 'secondary small', onclick: () => void signOut() },
      'Sign out',
    ),
  );
}

async function render() {
  state.current?.abort();
  const controller = new AbortController();
  state.current = controller;
  const { path, query, line } = parseHash();
  clearStaleFlash();
  const main = document.getElementById('main');
  const view = h('div', { class: 'view' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(main, view);

  const match = routes.map(([re, fn]) => [path.match(re), fn]).find(([m]) => m);
  const ctx = {
    me: state.me,
    orgs: state.orgs,
    query,
    line,
    signal: controller.signal,
    onCleanup: (fn) => controller.signal.addEventListener('abort', fn),
    /** Polls while the view is open; a slow or failed round never overlaps the next. */
    every(ms, fn) {
      let running = false;
      const id = setInterval(() => {
        if (running) return;
        running = true;
        Promise.resolve()
          .then(fn)
          .catch(() => undefined)
          .finally(() => (running = false));
      }, ms);
      ctx.onCleanup(() => clearInterval(id));
    },
    navigate,
    refreshOrgs,
    /** Replaces the view's content, unless the user has moved on. */
    show(...children) {
      if (!controller.signal.aborted) replace(view, children);
    },
  };
  try {
    if (!match) {
      renderHeader(null, path);
      ctx.show(
        h('h1', {}, 'Page not found'),
        h('p', {}, h('a', { href: '#/' }, 'Back to the dashboard')),
      );
      return;
    }
    const [m, fn] = match;
    ctx.params = m.slice(1).map(decodeURIComponent);
    if (path.startsWith('/o/')) {
      ctx.org = await get(`/orgs/${encodeURIComponent(ctx.params[0])}`);
      ctx.can = (permission) => can(ctx.org.role, permission);
      // Joined since the page loaded (an invitation accepted): the switcher learns of it.
      if (!state.orgs.some((o) => o.slug === ctx.org.slug)) ctx.orgs = await refreshOrgs();
      localStorage.setItem('mc.org', ctx.org.slug);
    }
    renderHeader(ctx.org, path);
    await fn(ctx);
    if (!controller.signal.aborted) {
      const title = view.querySelector('h1')?.textContent;
      document.title = title ? `${title} · meltano-cloud` : 'meltano-cloud';
    }
  } catch (err) {
    if (controller.signal.aborted || (err instanceof ApiError && err.status === 401)) return;
    renderHeader(ctx.org ?? null, path);
    ctx.show(
      h('h1', {}, err.status === 404 ? 'Not found' : 'Something went wrong'),
      h('p', { class: 'form-error', role: 'alert' }, errorText(err)),
      h('p', {}, h('a', { href: '#/' }, 'Back to the dashboard')),
    );
  }
}

async function boot() {
  try {
    state.me = await loadMe();
    await refreshOrgs();
  } catch (err) {
    if (err.status !== 401)
      replace(
        document.getElementById('main'),
        h('p', { class: 'form-error', role: 'alert' }, errorText(err)),
      );
    return;
  }
  window.addEventListener('hashchange', () => {
    void render().then(() => {
      document.getElementById('main').focus({ preventScroll: true });
      window.scrollTo(0, 0);
    });
  });
  await render();
}

void boot();
