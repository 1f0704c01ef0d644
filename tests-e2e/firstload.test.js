// Issue 13: a logged-out first load shows no console error (GET /me used to
// answer 401 at every first load, and the favicon was missing), and the
// session still comes back on a reload after logging in.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { newContext } from './lib/browser.js';
import { registerFirst } from './lib/accounts.js';

describe('first load', () => {
  let server;
  let ui;

  before(async () => {
    server = await startServer();
    ui = await newContext();
  });

  after(async () => {
    if (ui) await ui.close();
    if (server) await server.stop();
  });

  it('logged out: the login page with no console error and a favicon', async () => {
    const { page, problems } = ui;
    const failed = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(server.url + '/');
    await page.locator('#login-form').waitFor();
    await page.waitForLoadState('networkidle');
    assert.deepEqual(problems, []);
    assert.deepEqual(failed, []);
    const href = await page.locator('link[rel="icon"]').getAttribute('href');
    assert.ok(href, 'a favicon link');
    const icon = await ui.context.request.get(new URL(href, server.url + '/').href);
    assert.equal(icon.status(), 200);
    assert.match(icon.headers()['content-type'], /^image\//);
  });

  it('logged in: a reload keeps the session (and its CSRF token)', async () => {
    const { page, problems } = ui;
    await registerFirst(page, server.url, 'alice');
    await page.reload();
    await page.locator('#current-user', { hasText: 'alice' }).waitFor();
    // A state-changing call works after the reload: the CSRF token came back too.
    await page.goto(server.url + '/#/admin/users');
    await page.fill('#new-user-name', 'dave');
    await page.fill('#new-user-password', 'another long password');
    await page.click('#new-user-btn');
    await page.locator('#users-body tr', { hasText: 'dave' }).waitFor();
    assert.deepEqual(problems, []);
  });
});
