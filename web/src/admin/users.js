// Admin: the list of accounts and their roles (PATCH /users/{id} {role}).
import { api, get } from '../api.js';
import { h, toast, fmtTime } from '../dom.js';

const ROLES = ['admin', 'radiologist', 'viewer'];

export function renderUsers(app, me) {
  const body = h('tbody', { id: 'users-body' });
  const msg = h('p', { class: 'form-error', id: 'users-error', role: 'alert' });

  function row(u) {
    const sel = h('select', { class: 'role-select', 'aria-label': `role of ${u.username}` },
      ...ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)));
    sel.addEventListener('change', async () => {
      const role = sel.value;
      if (u.id === me.id && role !== 'admin'
          && !confirm('You are removing your own admin role; you will lose access to this page. Continue?')) {
        sel.value = u.role;
        return;
      }
      sel.disabled = true;
      try {
        const { data } = await api('PATCH', `/users/${u.id}`, { body: { role } });
        u.role = data.role;
        toast(`${u.username} is now ${data.role}`);
      } catch (e) {
        sel.value = u.role;
        toast(`Could not change the role: ${e.message}`, 'error');
      } finally {
        sel.disabled = false;
      }
    });
    return h('tr', { class: 'user-row', dataset: { username: u.username, id: String(u.id) } },
      h('td', {}, u.username, u.id === me.id ? h('span', { class: 'badge' }, 'you') : null),
      h('td', {}, sel),
      h('td', { class: 'muted small' }, fmtTime(u.created_at)));
  }

  async function load() {
    try {
      const data = await get('/users');
      body.replaceChildren(...data.users.map(row));
      msg.textContent = '';
    } catch (e) {
      msg.textContent = `Could not list users: ${e.message}`;
    }
  }

  app.append(h('section', { class: 'admin', id: 'admin-users' },
    h('h2', {}, 'Users'),
    h('p', { class: 'muted small' }, 'Admins manage users and the label set; radiologists upload and annotate; viewers only look.'),
    msg,
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Role'), h('th', {}, 'Registered'))),
      body)));
  load();
}
