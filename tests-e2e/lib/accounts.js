// Accounts for the browser tests. Registration is closed after the first
// account (who becomes admin), so: the first user registers on the login
// page, and an admin creates the others (POST /api/v1/users), who then log in.
import { request } from 'playwright-core';

export const PASSWORD = 'correct horse battery';

/** The first account: registers on the login page (and becomes admin). */
export async function registerFirst(page, url, username, password = PASSWORD) {
  await page.goto(url + '/');
  await page.locator('#login-form').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#register-btn');
  await page.locator('#current-user').waitFor();
}

/** Logs `username` in on the login page. */
export async function loginUi(page, url, username, password = PASSWORD) {
  await page.goto(url + '/');
  await page.locator('#login-form').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login-btn');
  await page.locator('#current-user').waitFor();
}

/**
 * `admin` (a context from newContext(), logged in as an admin) creates the
 * account through the API with the admin's session and CSRF token.
 */
export async function createUser(admin, url, username, role = 'radiologist', password = PASSWORD) {
  const req = admin.context.request;
  const me = await (await req.get(`${url}/api/v1/me`)).json();
  if (!me.csrf_token) throw new Error(`not logged in as an admin: ${JSON.stringify(me)}`);
  const res = await req.post(`${url}/api/v1/users`, {
    headers: { 'X-CSRF-Token': me.csrf_token },
    data: { username, password, role },
  });
  if (res.status() !== 201) throw new Error(`creating ${username}: ${res.status()} ${await res.text()}`);
  return res.json();
}

/** An API client (no browser) logged in as `username`: {ctx, headers}. */
export async function apiLogin(url, username, password = PASSWORD) {
  const ctx = await request.newContext({ baseURL: url });
  const r = await ctx.post('/api/v1/auth/login', { data: { username, password } });
  if (r.status() !== 200) throw new Error(`login ${username}: ${r.status()} ${await r.text()}`);
  const { csrf_token: csrf } = await r.json();
  return { ctx, headers: { 'X-CSRF-Token': csrf } };
}
