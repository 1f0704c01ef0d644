// Entry point: the top bar and the hash router (#/login, #/images,
// #/images/<id>, …). Hash routes keep every asset URL relative, so the server
// only has to serve dist/ at `/`. Shared state (session, leave guard,
// navigate) lives in app.js, which the pages import instead of this module.
import { api, get, ApiError } from './api.js';
import { session, setUser, onUserChange, setRouter, navigate, mayLeave, clearLeaveGuard } from './app.js';
import { h } from './dom.js';
import { renderLogin } from './login.js';
import { renderLibrary } from './library.js';
import { renderStudies } from './studies.js';
import { renderReports } from './reports/list.js';
import { renderMyReadings } from './readings/mine.js';
import { adminNav, renderAdmin } from './admin/index.js';
import { prefetchedMeta } from './editor/worklist.js';

// Top-bar links: {hash, label, id, show(user)}; each page module adds its own.
const NAV = [
  { hash: '#/images', label: 'Images', id: 'nav-images', show: (u) => !!u },
  { hash: '#/studies', label: 'Studies', id: 'nav-studies', show: (u) => !!u },
  { hash: '#/reports', label: 'Reports', id: 'nav-reports', show: (u) => !!u },
  { hash: '#/readings', label: 'My readings', id: 'nav-readings', show: (u) => !!u },
  { hash: '#/models', label: 'Models', id: 'nav-models', show: (u) => !!u },
  ...adminNav,
];

function renderNav() {
  const nav = document.getElementById('topnav');
  const here = (location.hash || '#/images').split('?')[0];
  nav.replaceChildren(...NAV.filter((n) => n.show(session.user)).map((n) =>
    h('a', { href: n.hash, id: n.id, class: here.startsWith(n.hash) ? 'active' : '' }, n.label)));
}

let cleanup = null;
let currentHash = null;

function renderWhoami() {
  const who = document.getElementById('whoami');
  const logout = document.getElementById('logout');
  who.replaceChildren();
  if (session.user) {
    who.append(
      h('span', { class: 'user', id: 'current-user' }, session.user.username),
      ' ',
      h('span', { class: 'role role-' + session.user.role, id: 'current-role' }, session.user.role),
    );
    logout.hidden = false;
  } else {
    logout.hidden = true;
  }
  renderNav();
}

onUserChange(() => renderWhoami());

async function logout() {
  if (!mayLeave()) return;
  clearLeaveGuard();
  try {
    await api('POST', '/auth/logout');
  } catch (e) {
    // The session may already be gone; the user still ends up logged out here.
    if (!(e instanceof ApiError)) throw e;
  }
  setUser(null, null);
  navigate('#/login');
}

async function route() {
  const hash = location.hash || '#/images';
  if (cleanup) {
    const c = cleanup;
    cleanup = null;
    c();
  }
  clearLeaveGuard();
  currentHash = hash;
  const app = document.getElementById('app');
  app.replaceChildren();
  const [path, query] = hash.slice(1).split('?');
  const params = new URLSearchParams(query || '');
  renderNav();
  if (path === '/login' || !session.user) {
    if (path !== '/login') {
      location.replace('#/login?next=' + encodeURIComponent(hash));
      return;
    }
    renderLogin(app, params);
    return;
  }
  // Reports, blind reading and review (pages of their own modules).
  const rd = path.match(/^\/(readings|review)\/([^/]+)$/);
  if (rd) {
    const mod = rd[1] === 'review' ? await import('./readings/review.js') : await import('./readings/reader.js');
    if (currentHash !== hash) return;
    const done = await (rd[1] === 'review' ? mod.renderReview : mod.renderReading)(app, decodeURIComponent(rd[2]));
    if (currentHash !== hash) done();
    else cleanup = done;
    return;
  }
  if (path === '/reports') {
    cleanup = await renderReports(app, params);
    return;
  }
  if (path === '/studies') {
    renderStudies(app, params);
    return;
  }
  if (path === '/readings') {
    cleanup = await renderMyReadings(app);
    return;
  }
  const m = path.match(/^\/images\/([^/]+)$/);
  if (m) {
    // The viewer pulls in Cornerstone; load it only when an image is opened.
    // A blind reader of this image (who has not submitted) reads it in their
    // reading view: the editor would only meet refusals (its boxes are others' work).
    // The worklist may have fetched the image already (the next image).
    const [{ renderEditor }, meta] = await Promise.all([
      import('./editor/view.js'),
      (prefetchedMeta(decodeURIComponent(m[1])) || get(`/images/${m[1]}`)).catch(() => null),
    ]);
    if (currentHash !== hash) return;
    if (meta && meta.blind) {
      location.replace(`#/readings/${m[1]}`);
      return;
    }
    const done = await renderEditor(app, decodeURIComponent(m[1]), meta);
    // The user may have moved on while the image was loading.
    if (currentHash !== hash) done();
    else cleanup = done;
    return;
  }
  if (path === '/models') {
    const { renderModels } = await import('./models.js');
    if (currentHash !== hash) return;
    renderModels(app);
    return;
  }
  if (renderAdmin(app, path, session.user)) return;
  renderLibrary(app, params);
  // Fetch and compile the viewer (Cornerstone, 3.6 MB) while the reader looks
  // at the library, so opening an image does not wait for it.
  setTimeout(() => import('./editor/view.js').then((m) => m.warmUp()).catch(() => {}), 200);
}

window.addEventListener('hashchange', (e) => {
  if (!mayLeave()) {
    // Put the old address back (replaceState fires no hashchange), so the
    // editor stays as it is.
    history.replaceState(null, '', new URL(e.oldURL).hash || '#/images');
    return;
  }
  route();
});

document.getElementById('logout').addEventListener('click', () => {
  logout().catch((e) => console.error(e));
});

// The session at first load: GET /auth/session answers 200 logged in or not,
// so a logged-out visit logs no 401 in the console.
async function currentSession() {
  const s = await get('/auth/session');
  return s && s.user ? { user: s.user, csrf: s.csrf_token } : null;
}

setRouter(() => route());

async function start() {
  try {
    const s = await currentSession();
    if (s) setUser({ id: s.user.id, username: s.user.username, role: s.user.role }, s.csrf);
    else setUser(null, null);
  } catch (e) {
    console.error(e);
    setUser(null, null);
  }
  route();
}

start();
