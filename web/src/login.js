// Log-in / register page.
import { api, ApiError } from './api.js';
import { h } from './dom.js';
import { setUser, navigate } from './app.js';

export function renderLogin(app, params) {
  const next = params.get('next') || '#/images';
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, minLength: 3, maxLength: 64 });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('p', { class: 'form-error', id: 'login-error', role: 'alert' });

  async function login() {
    const { data } = await api('POST', '/auth/login', { body: { username: user.value, password: pass.value } });
    setUser(data.user, data.csrf_token);
    navigate(next.startsWith('#/') && !next.startsWith('#/login') ? next : '#/images');
  }

  async function submit(kind) {
    msg.textContent = '';
    if (!form.reportValidity()) return;
    try {
      if (kind === 'register') {
        await api('POST', '/auth/register', { body: { username: user.value, password: pass.value } });
      }
      await login();
    } catch (e) {
      msg.textContent = e instanceof ApiError ? e.message : String(e);
    }
  }

  const form = h(
    'form',
    { class: 'card login', id: 'login-form', onsubmit: (e) => { e.preventDefault(); submit('login'); } },
    h('h1', {}, 'Sign in to Carina'),
    h('label', { for: 'username' }, 'User name'),
    user,
    h('label', { for: 'password' }, 'Password'),
    pass,
    msg,
    h('div', { class: 'row' },
      h('button', { type: 'submit', id: 'login-btn', class: 'primary' }, 'Log in'),
      h('button', { type: 'button', id: 'register-btn', onclick: () => submit('register') }, 'Create account'),
    ),
    h('p', { class: 'hint' }, 'The first account on a new server becomes its administrator (password: at least 10 characters, not a common one). After that, an administrator creates accounts.'),
  );
  app.append(form);
  user.focus();
}
