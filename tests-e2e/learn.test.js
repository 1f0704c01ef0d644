// Learning from corrections in headless Chromium against the real `carina
// serve` (its bundled demo model deployed): on the Models page an admin's
// "Fine-tune on corrections" is refused with the reason while nothing is
// reviewed; once ten images carry confirmed boxes, the button queues a real
// fine-tuning (a few steps), the page follows the job to its end and shows
// the held-out comparison, and the new model is listed, not deployed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { newContext, shot } from './lib/browser.js';
import { discPng } from './lib/png.js';

describe('learning from corrections', () => {
  let server;
  let ctx;

  before(async () => {
    server = await startServer();
    ctx = await newContext();
    const { page } = ctx;
    await page.goto(server.url + '/');
    await page.locator('#login-form').waitFor();
    await page.fill('#username', 'boss');
    await page.fill('#password', 'correct horse battery');
    await page.click('#register-btn');
    await page.locator('#current-user').waitFor();
  });

  after(async () => {
    if (ctx) await ctx.close();
    if (server) await server.stop();
  });

  it('an admin fine-tunes the deployed model from the Models page', async () => {
    const { page } = ctx;
    await page.goto(server.url + '/#/models');
    await page.locator('#train-start').waitFor();
    await page.locator('.model-card.deployed').waitFor();
    await page.fill('#train-steps', '3');
    await page.click('#train-start');
    await page.locator('#train-status', { hasText: 'not enough reviewed images' }).waitFor();

    // Ten reviewed images, each with one confirmed (manual) box.
    const req = ctx.context.request;
    const me = await (await req.get(`${server.url}/api/v1/me`)).json();
    const headers = { 'X-CSRF-Token': me.csrf_token };
    for (let k = 0; k < 10; k++) {
      const [png, bbox] = discPng(160, 40 + 10 * (k % 5), 50 + 20 * Math.floor(k / 5), 14 + 3 * (k % 3), k);
      const up = await req.post(`${server.url}/api/v1/images`, {
        headers, multipart: { file: { name: `disc-${k}.png`, mimeType: 'image/png', buffer: png } },
      });
      assert.equal(up.status(), 201, await up.text());
      const id = (await up.json()).id;
      const ann = await (await req.get(`${server.url}/api/v1/images/${id}/annotations`)).json();
      const put = await req.put(`${server.url}/api/v1/images/${id}/annotations`, {
        headers: { ...headers, 'If-Match': `"${ann.version}"` },
        data: { boxes: [{ class_id: 4, bbox }] },
      });
      assert.equal(put.status(), 200, await put.text());
    }

    await page.click('#train-start');
    await page.locator('#train-status', { hasText: 'Fine-tuning job' }).waitFor({ timeout: 20_000 })
      .catch(async (e) => assert.fail(`${e.message}\nstatus: ${await page.locator('#train-status').textContent()}`));
    await page.locator('#train-status[data-status="done"], #train-status[data-status="failed"]').waitFor({ timeout: 300_000 });
    const status = await page.locator('#train-status').textContent();
    assert.equal(await page.locator('#train-status').getAttribute('data-status'), 'done', status);
    assert.match(status, /registered carina-demo-synthetic-workbench/);
    assert.match(status, /not deployed/);
    assert.match(status, /deployed: AP50 \d\.\d{3}/);
    assert.match(status, /new: AP50 \d\.\d{3}/);

    // The new version is listed with its comparison, and the old one stays deployed.
    const card = page.locator('.model-card', { hasText: 'carina-demo-synthetic-workbench' });
    await card.locator('.held-out table').waitFor();
    assert.equal(await card.locator('.deploy-btn').count(), 1, 'not deployed: it offers Deploy');
    assert.match(await card.textContent(), /trained on synthetic data/);
    assert.match(await card.textContent(), /Validation: AP \d\.\d{3} · AP50 \d\.\d{3}/);
    await shot(page, 'models-fine-tuned');
    const models = (await (await req.get(`${server.url}/api/v1/models`)).json()).models;
    const fresh = models.find((m) => m.source === 'workbench');
    assert.equal(fresh.deployed, false);
    assert.equal(models.filter((m) => m.deployed).length, 1);
    assert.equal(models.find((m) => m.deployed).source, 'bundled');
  });
});
