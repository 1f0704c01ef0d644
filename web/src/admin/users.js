// Admin: the accounts. Create one (POST /users {username, password, role}:
// registration is closed after the first account), change a role
// (PATCH /users/{id} {role}), delete one (DELETE /users/{id}). The server
// keeps the last admin (409) and checks the password rules.
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
    const del = h('button', { type: 'button', class: 'small danger user-delete', 'aria-label': `delete ${u.username}` }, 'Delete');
    const tr = h('tr', { class: 'user-row', dataset: { username: u.username, id: String(u.id) } },
      h('td', {}, u.username, u.id === me.id ? h('span', { class: 'badge' }, 'you') : null),
      h('td', {}, sel),
      h('td', { class: 'muted small' }, fmtTime(u.created_at)),
      h('td', {}, del));
    del.addEventListener('click', async () => {
      if (!confirm(`Delete the account ${u.username}? They can no longer log in; their work stays.`)) return;
      try {
        await api('DELETE', `/users/${u.id}`);
        tr.remove();
        toast(`${u.username} deleted`);
      } catch (e) {
        toast(`Could not delete ${u.username}: ${e.message}`, 'error');
      }
    });
    return tr;
  }

  const newName = h('input', { id: 'new-user-name', name: 'new-username', placeholder: 'User name', autocomplete: 'off', required: true, minLength: 3, maxLength: 64 });
  const newPass = h('input', { id: 'new-user-password', name: 'new-password', type: 'password', placeholder: 'Password (at least 10 characters)', autocomplete: 'new-password', required: true, minLength: 10 });
  const newRole = h('select', { id: 'new-user-role', 'aria-label': 'role of the new account' },
    ...ROLES.map((r) => h('option', { value: r, selected: r === 'radiologist' }, r)));
  const createMsg = h('p', { class: 'form-error', id: 'new-user-error', role: 'alert' });
  const createForm = h('form', { class: 'filters', id: 'new-user-form' }, newName, newPass, newRole,
    h('button', { type: 'submit', class: 'primary', id: 'new-user-btn' }, 'Create account'));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    createMsg.textContent = '';
    if (!createForm.reportValidity()) return;
    try {
      const { data } = await api('POST', '/users', { body: { username: newName.value.trim(), password: newPass.value, role: newRole.value } });
      body.append(row(data));
      newName.value = '';
      newPass.value = '';
      toast(`Account ${data.username} created (${data.role})`);
    } catch (err) {
      createMsg.textContent = `Could not create the account: ${err.message}`;
    }
  });

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
    h('p', { class: 'muted small' }, 'Admins manage users and the label set; radiologists upload and annotate; viewers only look. Only admins create accounts; the last admin keeps the role.'),
    h('h3', {}, 'New account'),
    createForm,
    createMsg,
    msg,
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Role'), h('th', {}, 'Registered'), h('th', {}, ''))),
      body)));
  load();
}
