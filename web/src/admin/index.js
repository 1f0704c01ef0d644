// The admin pages (#/admin/users, #/admin/labels): shown in the top bar for
// admins only. The server refuses these API calls to everyone else anyway;
// the UI only hides what would be refused.
import { h } from '../dom.js';
import { renderUsers } from './users.js';
import { renderLabels } from './labels.js';

/** Top-bar entries this module adds: {hash, label, id, show(user)}. */
export const adminNav = [
  { hash: '#/admin/users', label: 'Users', id: 'nav-admin-users', show: (u) => u && u.role === 'admin' },
  { hash: '#/admin/labels', label: 'Labels', id: 'nav-admin-labels', show: (u) => u && u.role === 'admin' },
];

/** Renders an admin page into `app`; returns false when `path` is not one. */
export function renderAdmin(app, path, user) {
  const pages = { '/admin/users': renderUsers, '/admin/labels': renderLabels };
  const page = pages[path];
  if (!page) return false;
  if (!user || user.role !== 'admin') {
    app.append(h('section', { class: 'admin' },
      h('p', { class: 'form-error', id: 'admin-forbidden' }, 'Only admins can manage users and labels.')));
    return true;
  }
  page(app, user);
  return true;
}
