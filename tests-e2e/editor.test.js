// The browser test of issue 2: a radiologist's whole round trip in headless
// Chromium against the real `carina serve` (its embedded web/dist, its CSP):
// register, log in, upload the real DICOM RG1_J2KR.dcm (JPEG 2000 lossless,
// 15-bit MONOCHROME1), see it rendered, change window/level by right-drag,
// draw and label a box by mouse, save, reload and see it again; then a
// second user in a second context saves a stale edit and sees the conflict.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sharedDir } from './lib/server.js';
import { createUser, loginUi } from './lib/accounts.js';
import { newContext, shot, pixelStats, SHOTS } from './lib/browser.js';

const DICOM = path.join(sharedDir, 'data', 'samples', 'dicom', 'RG1_J2KR.dcm');
const PASSWORD = 'correct horse battery';

async function waitReady(page) {
  await page.locator('#viewport[data-ready="true"]').waitFor({ timeout: 60_000 });
  // Let Cornerstone finish the first render after the image arrived.
  await page.waitForTimeout(500);
  assert.equal(await page.locator('#image-error').isVisible(), false,
    'image error: ' + (await page.locator('#image-error').textContent()));
}

async function register(page, url, username) {
  await page.goto(url + '/');
  await page.locator('#login-form').waitFor();
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.click('#register-btn');
  await page.locator('#current-user').waitFor();
  assert.equal(await page.locator('#current-user').textContent(), username);
}

/** The stored boxes of an image, read through the API with this context's cookies. */
async function apiAnnotations(ctx, url, id) {
  const res = await ctx.context.request.get(`${url}/api/v1/images/${id}/annotations`);
  assert.equal(res.status(), 200);
  return res.json();
}

/**
 * Where image pixel (x, y) lies on the page after "Fit": Cornerstone fits the
 * whole image into the viewport, centred, with one scale for both axes.
 */
async function fitMapping(page, width, height) {
  const r = await page.locator('#viewport').boundingBox();
  const s = Math.min(r.width / width, r.height / height);
  const ox = r.x + (r.width - width * s) / 2;
  const oy = r.y + (r.height - height * s) / 2;
  return { s, toPage: ([x, y]) => [ox + x * s, oy + y * s] };
}

async function drag(page, from, to, button = 'left') {
  await page.mouse.move(from[0], from[1]);
  await page.mouse.down({ button });
  const steps = 8;
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(from[0] + ((to[0] - from[0]) * i) / steps, from[1] + ((to[1] - from[1]) * i) / steps);
  }
  await page.mouse.up({ button });
}

/** The people's boxes listed beside the image (model proposals, if any, left out). */
async function boxItems(page) {
  return page.locator('#box-list li.box-item:not(.model)').evaluateAll((els) => els.map((e) => ({
    classId: Number(e.dataset.classId), bbox: JSON.parse(e.dataset.bbox), status: e.dataset.status,
  })));
}

describe('web editor in headless Chromium', () => {
  let server;
  let alice;
  let bob;
  let imageId;
  let image;
  let drawn;

  before(async () => {
    assert.ok(fs.existsSync(DICOM), `sample DICOM missing: ${DICOM}`);
    fs.rmSync(SHOTS, { recursive: true, force: true });
    server = await startServer();
    alice = await newContext();
  });

  after(async () => {
    if (alice) await alice.close();
    if (bob) await bob.close();
    if (server) await server.stop();
  });

  it('registers the first user, who becomes admin', async () => {
    await register(alice.page, server.url, 'alice');
    assert.equal(await alice.page.locator('#current-role').textContent(), 'admin');
    await shot(alice.page, '01-library-empty');
  });

  it('logs out and logs in again', async () => {
    const { page } = alice;
    await page.click('#logout');
    await page.locator('#login-form').waitFor();
    await page.fill('#username', 'alice');
    await page.fill('#password', 'wrong password!');
    await page.click('#login-btn');
    await page.locator('#login-error:not(:empty)').waitFor();
    await page.fill('#password', PASSWORD);
    await page.click('#login-btn');
    await page.locator('#current-user').waitFor();
    await page.locator('#dropzone').waitFor();
  });

  it('uploads the real DICOM with the file button and lists it', async () => {
    const { page } = alice;
    await page.setInputFiles('#file-input', DICOM);
    const card = page.locator('.image-card').first();
    await card.waitFor({ timeout: 60_000 });
    imageId = await card.getAttribute('data-id');
    const res = await alice.context.request.get(`${server.url}/api/v1/images/${imageId}`);
    assert.equal(res.status(), 200);
    image = await res.json();
    assert.ok(image.width > 1000 && image.height > 1000, `unexpected size ${image.width}x${image.height}`);
    assert.match(await card.textContent(), new RegExp(`${image.width}×${image.height}`));
    // The thumbnail is a real picture from the server.
    await page.waitForFunction(() => {
      const img = document.querySelector('.image-card img');
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: 30_000 });
    await shot(page, '02-library-uploaded');
  });

  it('opens the image and renders the radiograph (lungs dark, mediastinum bright)', async () => {
    const { page } = alice;
    await page.click(`.image-card[data-id="${imageId}"] a.name`);
    await waitReady(page);
    await page.keyboard.press('f');
    await page.waitForTimeout(300);
    const vp = page.locator('#viewport');
    await shot(page, '03-viewer-default', vp);
    // Fractions of the fitted image inside the viewport element.
    const m = await fitMapping(page, image.width, image.height);
    const r = await vp.boundingBox();
    const frac = ([x0, y0, x1, y1]) => {
      const a = m.toPage([x0 * image.width, y0 * image.height]);
      const b = m.toPage([x1 * image.width, y1 * image.height]);
      return [(a[0] - r.x) / r.width, (a[1] - r.y) / r.height, (b[0] - r.x) / r.width, (b[1] - r.y) / r.height];
    };
    const st = await pixelStats(page, vp, {
      image: frac([0, 0, 1, 1]),
      mediastinum: frac([0.45, 0.3, 0.55, 0.6]),
      rightLung: frac([0.22, 0.3, 0.34, 0.55]),
      leftLung: frac([0.66, 0.3, 0.78, 0.55]),
    });
    console.log('pixel stats', JSON.stringify(st));
    assert.ok(st.image.nonBlack > 0.5, `image mostly black: ${JSON.stringify(st.image)}`);
    assert.ok(st.image.std > 20, `image has no contrast: ${JSON.stringify(st.image)}`);
    assert.ok(st.mediastinum.mean > st.rightLung.mean + 15 && st.mediastinum.mean > st.leftLung.mean + 15,
      `lungs should be darker than the mediastinum (MONOCHROME1 shown inverted): ${JSON.stringify(st)}`);
    assert.deepEqual(alice.problems.filter((p) => /Content Security Policy|page error/i.test(p)), []);
  });

  it('changes window/level by right-drag', async () => {
    const { page } = alice;
    const wl = page.locator('#wl-display');
    const before = { w: Number(await wl.getAttribute('data-width')), c: Number(await wl.getAttribute('data-center')) };
    assert.ok(before.w > 0, 'no window shown');
    const r = await page.locator('#viewport').boundingBox();
    const c = [r.x + r.width / 2, r.y + r.height / 2];
    await drag(page, c, [c[0] + 120, c[1] + 80], 'right');
    await page.waitForTimeout(300);
    const after = { w: Number(await wl.getAttribute('data-width')), c: Number(await wl.getAttribute('data-center')) };
    console.log('window/level before', before, 'after', after, await wl.textContent());
    assert.ok(Math.abs(after.w - before.w) > 1 || Math.abs(after.c - before.c) > 1, 'window/level did not change');
    await shot(page, '04-viewer-after-wl-drag', page.locator('#viewport'));
    // In W/L mode the left button does the same, and draws no box.
    await page.keyboard.press('w');
    await drag(page, c, [c[0] - 100, c[1] - 60]);
    await page.waitForTimeout(200);
    const left = Number(await wl.getAttribute('data-width'));
    assert.ok(Math.abs(left - after.w) > 1, 'left-drag in W/L mode changes the window');
    assert.equal((await boxItems(page)).length, 0, 'no box drawn in W/L mode');
    await page.keyboard.press('b');
    // A preset and the file default are one key away.
    await page.keyboard.press('Shift+Digit2');
    await page.waitForTimeout(200);
    await shot(page, '05-viewer-lung-preset', page.locator('#viewport'));
    await page.keyboard.press('r');
    await page.waitForTimeout(200);
    assert.equal(Number(await wl.getAttribute('data-width')), before.w, 'R should restore the file window');
  });

  it('draws a box by mouse in original image pixels, labels it, deletes and undoes', async () => {
    const { page } = alice;
    await page.keyboard.press('f');
    await page.keyboard.press('b');
    await page.waitForTimeout(200);
    const m = await fitMapping(page, image.width, image.height);
    const want = [0.3 * image.width, 0.35 * image.height, 0.45 * image.width, 0.5 * image.height];
    await drag(page, m.toPage([want[0], want[1]]), m.toPage([want[2], want[3]]));
    let items = await boxItems(page);
    assert.equal(items.length, 1, 'one box after the drag');
    const tol = Math.max(2, 2 / m.s);
    items[0].bbox.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tol, `bbox ${items[0].bbox} vs expected ${want.map(Math.round)} (±${tol.toFixed(1)} px)`));
    // A plain click draws nothing.
    const p = m.toPage([0.8 * image.width, 0.8 * image.height]);
    await page.mouse.click(p[0], p[1]);
    assert.equal((await boxItems(page)).length, 1, 'a click must not make a zero-size box');
    // Select the box by clicking it, label it Nodule/Mass with key 5.
    const inside = m.toPage([0.37 * image.width, 0.42 * image.height]);
    await page.mouse.click(inside[0], inside[1]);
    await page.keyboard.press('5');
    items = await boxItems(page);
    assert.equal(items[0].classId, 4, 'key 5 = Nodule/Mass (class 4)');
    assert.match(await page.locator('#box-overlay g.box.selected text').textContent(), /Nodule\/Mass/);
    // Delete, undo, redo, undo.
    await page.keyboard.press('Delete');
    assert.equal((await boxItems(page)).length, 0, 'Delete removes the selected box');
    await page.keyboard.press('Control+z');
    assert.equal((await boxItems(page)).length, 1, 'Ctrl+Z brings it back');
    await page.keyboard.press('Control+Shift+z');
    assert.equal((await boxItems(page)).length, 0, 'Ctrl+Shift+Z deletes it again');
    await page.keyboard.press('Control+z');
    items = await boxItems(page);
    assert.equal(items.length, 1);
    drawn = items[0];
    // Zoomed out, a box dragged across the whole viewport is clipped to the image.
    await page.keyboard.press('-');
    await page.keyboard.press('-');
    const r = await page.locator('#viewport').boundingBox();
    await drag(page, [r.x + 3, r.y + 3], [r.x + r.width - 3, r.y + r.height - 3]);
    await page.keyboard.press('f');
    items = await boxItems(page);
    assert.equal(items.length, 2);
    assert.deepEqual(items[1].bbox, [0, 0, image.width, image.height], 'a box over the whole view is clamped to the image');
    await page.keyboard.press('Delete');
    assert.equal((await boxItems(page)).length, 1);
    await page.keyboard.press('?');
    await page.locator('#help').waitFor();
    assert.match(await page.locator('#help').textContent(), /Ctrl\+Shift\+Z/);
    await shot(page, '06-help-overlay');
    await page.keyboard.press('Escape');
    await shot(page, '07-box-drawn');
  });

  it('warns about unsaved changes on in-app navigation', async () => {
    const { page } = alice;
    assert.match(await page.locator('#save-state').textContent(), /unsaved/);
    let message = null;
    page.once('dialog', (d) => {
      message = d.message();
      d.dismiss();
    });
    await page.click('#back');
    await page.waitForTimeout(300);
    assert.match(message || '', /unsaved/i);
    assert.ok(page.url().includes(`#/images/${imageId}`), 'stays on the editor after cancelling');
    assert.equal((await boxItems(page)).length, 1);
  });

  it('saves, and the box is there after a reload (API and UI)', async () => {
    const { page } = alice;
    await page.click('#save');
    await page.locator('#save-state', { hasText: 'saved · version' }).waitFor();
    const stored = await apiAnnotations(alice, server.url, imageId);
    const mine = stored.boxes.filter((b) => b.source && b.source.kind === 'radiologist');
    assert.equal(mine.length, 1);
    assert.equal(mine[0].class_id, 4);
    assert.deepEqual(mine[0].bbox, drawn.bbox);
    assert.equal(mine[0].source.user, 'alice');
    assert.equal(mine[0].status, 'manual');
    await page.reload();
    await waitReady(page);
    const items = await boxItems(page);
    const again = items.find((b) => b.status === 'manual');
    assert.ok(again, 'the saved box is listed after reload');
    assert.deepEqual(again.bbox, drawn.bbox);
    assert.equal(again.classId, 4);
    assert.equal(await page.locator('#box-overlay g.box[data-class-id="4"]').count() >= 1, true, 'drawn on the image');
    await page.locator('#history-list .history-entry').first().waitFor();
    assert.match(await page.locator('#history-list').textContent(), /alice/);
    await shot(page, '08-after-reload');
  });

  it('a second user saving a stale edit sees the conflict', async () => {
    bob = await newContext();
    // Registration is closed after the first account: alice (admin) creates bob.
    await createUser(alice, server.url, 'bob', 'radiologist', PASSWORD);
    await loginUi(bob.page, server.url, 'bob', PASSWORD);
    assert.equal(await bob.page.locator('#current-user').textContent(), 'bob');
    assert.equal(await bob.page.locator('#current-role').textContent(), 'radiologist');
    await bob.page.goto(`${server.url}/#/images/${imageId}`);
    await waitReady(bob.page);
    assert.equal((await boxItems(bob.page)).filter((b) => b.status === 'manual').length, 1, 'bob sees alice\'s box');

    // Alice moves her box and saves first.
    const { page } = alice;
    await page.keyboard.press('Tab');
    await page.keyboard.press('Shift+ArrowRight');
    await page.click('#save');
    await page.locator('#save-state', { hasText: 'saved · version' }).waitFor();
    const current = await apiAnnotations(alice, server.url, imageId);

    // Bob, still on the old version, adds a box and saves.
    await bob.page.keyboard.press('f');
    const m = await fitMapping(bob.page, image.width, image.height);
    await drag(bob.page, m.toPage([0.6 * image.width, 0.6 * image.height]), m.toPage([0.7 * image.width, 0.7 * image.height]));
    await bob.page.click('#save');
    const banner = bob.page.locator('#conflict');
    await banner.waitFor({ timeout: 10_000 });
    assert.match(await banner.textContent(), /conflict/i);
    assert.match(await banner.textContent(), /NOT saved/);
    await shot(bob.page, '09-conflict');
    const unchanged = await apiAnnotations(alice, server.url, imageId);
    assert.equal(unchanged.version, current.version, 'the stale save changed nothing');
    // Reloading shows alice's latest state.
    await bob.page.click('#conflict-reload');
    await bob.page.locator('#conflict').waitFor({ state: 'hidden' });
    const bobItems = await boxItems(bob.page);
    const alices = current.boxes.find((b) => b.source && b.source.user === 'alice');
    assert.deepEqual(bobItems.find((b) => b.status === 'manual').bbox, alices.bbox);
    assert.deepEqual(alice.problems.filter((p) => /Content Security Policy|page error/i.test(p)), []);
    assert.deepEqual(bob.problems.filter((p) => /Content Security Policy|page error/i.test(p)), []);
  });

  it('says so when an image cannot be shown', async () => {
    const { page } = bob;
    await page.goto(`${server.url}/#/images/999999`);
    const err = page.locator('#image-error');
    await err.waitFor();
    assert.match(await err.textContent(), /could not be shown/);
  });
});
