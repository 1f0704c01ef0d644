// Set-up through the API for the library / tables / reading tests: an admin
// registered in the browser, other accounts, generated PNG uploads,
// assignments and reports, so each test starts from the state it is about.
import assert from 'node:assert/strict';
import { discPng } from './png.js';
import { registerFirst, createUser, apiLogin, PASSWORD } from './accounts.js';
import { newContext } from './browser.js';

/** The CSRF token of a logged-in browser context. */
export async function csrfOf(ctx, url) {
  const me = await (await ctx.context.request.get(`${url}/api/v1/me`)).json();
  assert.ok(me.csrf_token, `not logged in: ${JSON.stringify(me)}`);
  return me.csrf_token;
}

/** A browser context whose first account (the admin) registered on the login page. */
export async function adminContext(url, username = 'alice') {
  const ctx = await newContext();
  await registerFirst(ctx.page, url, username);
  return ctx;
}

/** An API client `{ctx, headers}` for a new account of `role`, created by `admin`. */
export async function apiAccount(admin, url, username, role = 'radiologist') {
  await createUser(admin, url, username, role, PASSWORD);
  return apiLogin(url, username, PASSWORD);
}

/**
 * Uploads a generated `size`² PNG with the request context `req` (browser
 * context's `.request`, or an apiLogin ctx) and returns the image object.
 */
export async function uploadDisc(req, url, headers, seed, size = 256) {
  const [png] = discPng(size, size / 2 + (seed % 7) * 4, size / 2, size / 6, seed);
  const res = await req.post(`${url}/api/v1/images`, {
    headers,
    multipart: { file: { name: `disc-${seed}.png`, mimeType: 'image/png', buffer: png } },
  });
  assert.ok(res.status() === 201 || res.status() === 200, `upload: ${res.status()} ${await res.text()}`);
  const body = await res.json();
  return body.images ? body.images[0] : body.image || body;
}

export async function postJson(req, url, headers, path, data, want = [200, 201]) {
  const res = await req.post(`${url}/api/v1${path}`, { headers, data });
  assert.ok(want.includes(res.status()), `POST ${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}
