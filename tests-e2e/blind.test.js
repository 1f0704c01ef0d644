// Issue 13, broken 3 and 6, and the blind-reading viewport: an admin assigns
// a blind reader and a reviewer from the library card (no API call by hand);
// the reader opens the image from the library and lands in their reading
// view (never the editor, never "unsaved changes"), on the editor's
// Cornerstone viewport (wheel zoom, right-drag window/level), draws a box,
// saves, submits after a confirmation naming what is frozen, and sees
// "See all readers" at once, without reopening the page.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { newContext, shot, pixelStats } from './lib/browser.js';
import { loginUi } from './lib/accounts.js';
import { adminContext, apiAccount, csrfOf, uploadDisc } from './lib/fixtures.js';

const SIZE = 512;

async function fitMapping(page, sel, width, height) {
  const r = await page.locator(sel).boundingBox();
  const s = Math.min(r.width / width, r.height / height);
  const ox = r.x + (r.width - width * s) / 2;
  const oy = r.y + (r.height - height * s) / 2;
  return ([x, y]) => [ox + x * s, oy + y * s];
}

async function drag(page, from, to, button = 'left') {
  await page.mouse.move(from[0], from[1]);
  await page.mouse.down({ button });
  for (let i = 1; i <= 8; i++) await page.mouse.move(from[0] + ((to[0] - from[0]) * i) / 8, from[1] + ((to[1] - from[1]) * i) / 8);
  await page.mouse.up({ button });
}

describe('blind reading from the library', () => {
  let server;
  let admin;
  let reader;
  let bob;
  let image; // assigned in the UI by the first test
  let image2; // assigned through the API, read in the reading view

  before(async () => {
    server = await startServer();
    admin = await adminContext(server.url);
    bob = await apiAccount(admin, server.url, 'bob');
    await apiAccount(admin, server.url, 'carol');
    const headers = { 'X-CSRF-Token': await csrfOf(admin, server.url) };
    image = await uploadDisc(admin.context.request, server.url, headers, 5, SIZE);
    image2 = await uploadDisc(admin.context.request, server.url, headers, 6, SIZE);
    const r = await admin.context.request.post(`${server.url}/api/v1/images/${image2.id}/assignments`, { headers, data: { readers: ['bob'], reviewer: 'alice' } });
    assert.equal(r.status(), 201, await r.text());
    reader = await newContext();
  });

  after(async () => {
    if (bob) await bob.ctx.dispose();
    if (reader) await reader.close();
    if (admin) await admin.close();
    if (server) await server.stop();
  });

  it('an admin assigns readers and a reviewer from the library card', async () => {
    const { page } = admin;
    await page.goto(server.url + '/#/images');
    await page.reload(); // the same hash would not render the library again
    const card = page.locator(`.image-card[data-id="${image.id}"]`);
    await card.locator('.assign-btn').click();
    await page.locator('#assign-dialog').waitFor();
    // Readers: radiologists and admins (GET /users).
    const offered = await page.locator('#assign-dialog .assign-reader').evaluateAll((ls) => ls.map((l) => l.dataset.user));
    assert.deepEqual(offered.sort(), ['alice', 'bob', 'carol']);
    await page.locator('#assign-dialog .assign-reader[data-user="bob"] input').check();
    await page.selectOption('#assign-reviewer', 'alice');
    await shot(page, 'blind-assign-dialog');
    await page.click('#assign-dialog-ok');
    await page.locator('#assign-dialog').waitFor({ state: 'detached' });
    const res = await admin.context.request.get(`${server.url}/api/v1/images/${image.id}/readings`);
    assert.equal(res.status(), 200);
    const a = await res.json();
    assert.equal(a.reviewer, 'alice');
    assert.deepEqual(a.readings.map((r) => r.reader), ['bob']);
    // Opening it again shows bob as already assigned.
    await card.locator('.assign-btn').click();
    const bobBox = page.locator('#assign-dialog .assign-reader[data-user="bob"] input');
    assert.equal(await bobBox.isChecked(), true);
    assert.equal(await bobBox.isDisabled(), true);
    await page.click('#assign-dialog-cancel');
    await page.locator('#assign-dialog').waitFor({ state: 'detached' });
  });

  it('the reader opens the image from the library and lands in the reading view', async () => {
    const { page } = reader;
    await loginUi(page, server.url, 'bob');
    await page.goto(server.url + '/#/images');
    await page.reload(); // the same hash would not render the library again
    await page.locator(`.image-card[data-id="${image2.id}"] a.name`).click();
    // Whichever page comes up: the reading view, or the editor's error.
    await page.locator('#reading-viewport[data-ready="true"], #image-error:not([hidden])').first().waitFor({ timeout: 30_000 });
    assert.match(new URL(page.url()).hash, new RegExp(`^#/readings/${image2.id}$`));
    assert.equal(await page.locator('#save').count(), 0, 'no editor Save button');
    assert.equal(await page.locator('#save-state').count(), 0, 'no editor save state');
    assert.doesNotMatch(await page.locator('#app').innerText(), /unsaved changes|could not be shown/);
    assert.match(await page.locator('#reading-state').textContent(), /saved · version 0/);
    // Named by its display name, not "image <id>".
    const title = await page.locator('#reading-title').textContent();
    assert.ok(title.includes(image2.display_name || image2.original_filename), title);
    assert.doesNotMatch(title, new RegExp(`image ${image2.id}\\b`));
    // The image is on screen: the bright disc over a dark background.
    const stats = await pixelStats(page, page.locator('#reading-viewport'));
    assert.ok(stats.all.std > 10, `contrast on screen: ${JSON.stringify(stats.all)}`);
    // Typing the editor's address leads to the reading view as well.
    await page.goto(server.url + `/#/images/${image2.id}`);
    await page.waitForURL(new RegExp(`#/readings/${image2.id}$`));
    await page.locator('#reading-viewport[data-ready="true"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#save').count(), 0);
    // Its library card says it is a blind reading.
    await page.goto(server.url + '/#/images');
    await page.locator(`.image-card[data-id="${image2.id}"] .blind-badge`).waitFor();
    await page.goto(server.url + `/#/readings/${image2.id}`);
    await page.locator('#reading-viewport[data-ready="true"]').waitFor({ timeout: 30_000 });
  });

  it('zooms with the wheel and changes window/level with the right button', async () => {
    const { page } = reader;
    const zoom = async () => Number(await page.locator('#reading-zoom').getAttribute('data-zoom'));
    const wl = () => page.locator('#reading-wl').textContent();
    const r = await page.locator('#reading-viewport').boundingBox();
    const mid = [r.x + r.width / 2, r.y + r.height / 2];
    const z0 = await zoom();
    await page.mouse.move(...mid);
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -100);
    await page.waitForFunction((z) => Number(document.querySelector('#reading-zoom').dataset.zoom) > z * 1.05, z0);
    const w0 = await wl();
    await drag(page, mid, [mid[0] + 120, mid[1] + 60], 'right');
    await page.waitForFunction((w) => document.querySelector('#reading-wl').textContent !== w, w0);
    assert.notEqual(await wl(), w0);
    await page.click('#reading-fit');
    await page.waitForFunction((z) => Math.abs(Number(document.querySelector('#reading-zoom').dataset.zoom) - z) < 1e-3, z0);
  });

  it('draws, saves and submits after a confirmation; "See all readers" shows at once', async () => {
    const { page } = reader;
    const at = await fitMapping(page, '#reading-viewport', SIZE, SIZE);
    await drag(page, at([150, 160]), at([300, 330]));
    await page.locator('#reading-boxes li.box-item').first().waitFor();
    assert.equal(await page.locator('#reading-overlay g.reading-box').count(), 1);
    assert.match(await page.locator('#reading-state').textContent(), /unsaved changes/);
    await page.click('#reading-save');
    await page.locator('#reading-state', { hasText: 'saved · version 1' }).waitFor();
    let asked = null;
    page.once('dialog', (d) => {
      asked = d.message();
      d.accept();
    });
    await page.click('#reading-submit');
    await page.locator('#reading-state', { hasText: 'submitted' }).waitFor();
    assert.match(asked || '', /freezes your 1 box/);
    // No reload, no navigation: the link is there now.
    await page.locator('#see-all').waitFor({ state: 'visible' });
    await shot(page, 'blind-submitted');
    const mine = await (await bob.ctx.get(`/api/v1/images/${image2.id}/readings/me`)).json();
    assert.equal(mine.status, 'submitted');
    assert.equal(mine.boxes.length, 1);
    const [x0, y0, x1, y1] = mine.boxes[0].bbox;
    for (const [got, want] of [[x0, 150], [y0, 160], [x1, 300], [y1, 330]]) assert.ok(Math.abs(got - want) <= 4, `bbox ${mine.boxes[0].bbox}`);
    await page.click('#see-all');
    await page.locator('#review-grid .reader-panel').first().waitFor();
    assert.ok((await page.locator('.review .title').textContent()).includes(image2.display_name || image2.original_filename));
    // Fusing is the reviewer's: a reader is not offered it.
    assert.equal(await page.locator('#fuse').count(), 0);
    assert.deepEqual(reader.problems.filter((p) => /page error|Content Security Policy/i.test(p)), []);
  });

  it('the image assigned in the UI is the reader\'s to read; cancelling the confirmation submits nothing', async () => {
    const { page } = reader;
    await page.goto(server.url + '/#/images');
    const card = page.locator(`.image-card[data-id="${image.id}"]`);
    await card.locator('.blind-badge').waitFor();
    await card.locator('a.name').click();
    await page.locator('#reading-viewport[data-ready="true"]').waitFor({ timeout: 30_000 });
    page.once('dialog', (d) => d.dismiss());
    await page.click('#reading-submit');
    const mine = await (await bob.ctx.get(`/api/v1/images/${image.id}/readings/me`)).json();
    assert.equal(mine.status, 'assigned');
    assert.equal(await page.locator('#reading-submit').isDisabled(), false);
    assert.equal(await page.locator('#see-all').isVisible(), false);
  });

  it('"See all readers" appears right after submitting (no reopening)', async () => {
    const headers = { 'X-CSRF-Token': await csrfOf(admin, server.url) };
    const third = await uploadDisc(admin.context.request, server.url, headers, 7, SIZE);
    const r = await admin.context.request.post(`${server.url}/api/v1/images/${third.id}/assignments`, { headers, data: { readers: ['bob'], reviewer: 'alice' } });
    assert.equal(r.status(), 201);
    // A fresh tab of the reader's session, so nothing of the earlier pages is in the way.
    const page = await reader.context.newPage();
    await page.goto(server.url + `/#/readings/${third.id}`);
    await page.locator('#reading-submit:enabled').waitFor();
    page.once('dialog', (d) => d.accept());
    await page.click('#reading-submit');
    await page.locator('#reading-state', { hasText: 'submitted' }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/readings/${third.id}`);
    await page.locator('#see-all').waitFor({ state: 'visible', timeout: 5000 });
    await page.close();
  });
});
