// Report ownership in the editor's report panel (issue 12): a draft is
// edited and signed by its author or an admin, an amendment started by the
// signer or an admin. Another radiologist must not be offered buttons the
// server refuses (they answered 403 before).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { loginUi, PASSWORD } from './lib/accounts.js';
import { newContext } from './lib/browser.js';
import { adminContext, apiAccount, uploadDisc, postJson } from './lib/fixtures.js';

describe('report ownership in the report panel', () => {
  let server;
  let admin;
  let bob;
  let carol;
  let author;
  let imageId;
  let reportId;

  before(async () => {
    server = await startServer();
    admin = await adminContext(server.url);
    author = await apiAccount(admin, server.url, 'author');
    await apiAccount(admin, server.url, 'bob');
    carol = await apiAccount(admin, server.url, 'carol');
    const img = await uploadDisc(author.ctx, server.url, author.headers, 11);
    imageId = img.id;
    const draft = await postJson(author.ctx, server.url, author.headers, `/images/${imageId}/reports`,
      { impression: 'Draft by the author.' });
    reportId = draft.id;
    bob = await newContext();
    await loginUi(bob.page, server.url, 'bob', PASSWORD);
  });

  after(async () => {
    for (const c of [author, carol]) if (c) await c.ctx.dispose();
    if (bob) await bob.close();
    if (admin) await admin.close();
    if (server) await server.stop();
  });

  async function openPanel(page) {
    // A fresh load each time (going to the same hash would not re-render).
    await page.goto(`${server.url}/#/images/${imageId}`);
    await page.reload();
    await page.locator('#report-status').waitFor({ timeout: 60_000 });
  }

  it("another radiologist sees the author's draft without Save or Sign", async () => {
    const { page } = bob;
    await openPanel(page);
    assert.equal(await page.locator('#report-status').textContent(), 'draft');
    assert.equal(await page.locator('#report-sign').count(), 0);
    assert.equal(await page.locator('#report-save').count(), 0);
    assert.ok(await page.locator('#report-impression').isDisabled());
    assert.match(await page.locator('#report-owner').textContent(), /Draft by author/);
  });

  it('an admin may take the draft over: Save and Sign are offered', async () => {
    const { page } = admin;
    await openPanel(page);
    await page.locator('#report-sign').waitFor();
    assert.equal(await page.locator('#report-save').count(), 1);
    assert.ok(!(await page.locator('#report-impression').isDisabled()));
    assert.equal(await page.locator('#report-owner').count(), 0);
  });

  it('once signed, only the signer or an admin is offered Amend', async () => {
    await postJson(author.ctx, server.url, author.headers, `/reports/${reportId}/sign`, undefined);
    const { page } = bob;
    await openPanel(page);
    assert.equal(await page.locator('#report-status').textContent(), 'signed');
    assert.equal(await page.locator('#report-amend').count(), 0);
    // The admin is: and the server agrees with both (carol is refused by the API).
    await openPanel(admin.page);
    await admin.page.locator('#report-amend').waitFor();
    const refused = await carol.ctx.post(`${server.url}/api/v1/reports/${reportId}/amend`, { headers: carol.headers });
    assert.equal(refused.status(), 403);
  });
});
