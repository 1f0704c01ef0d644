// The browser test of the report and review half of issue 6, in headless
// Chromium against the real `carina serve`: upload a real DICOM, draw and
// label a box, save, write an impression, sign the report and download its
// PDF (a real PDF whose text holds the impression); then two readers submit
// blind readings through the API and the reviewer's side-by-side view fuses
// them and shows the agreement figures.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, sharedDir } from './lib/server.js';
import { apiLogin, createUser } from './lib/accounts.js';
import { newContext, shot } from './lib/browser.js';

const DICOM = path.join(sharedDir, 'data', 'samples', 'dicom', 'siim_cr_jpeg_baseline.dcm');
const PASSWORD = 'correct horse battery';
const IMPRESSION = 'Rounded opacity in the right lung, suspicious for a nodule; CT advised.';

async function drag(page, from, to) {
  await page.mouse.move(from[0], from[1]);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    await page.mouse.move(from[0] + ((to[0] - from[0]) * i) / 8, from[1] + ((to[1] - from[1]) * i) / 8);
  }
  await page.mouse.up();
}

/** An API client logged in as a new radiologist, whom `admin` creates. */
async function apiUser(url, username, admin) {
  await createUser(admin, url, username, 'radiologist', PASSWORD);
  return apiLogin(url, username, PASSWORD);
}

describe('reports and review in headless Chromium', () => {
  let server;
  let alice;
  let imageId;
  let image;
  const readers = [];

  before(async () => {
    assert.ok(fs.existsSync(DICOM), `sample DICOM missing: ${DICOM}`);
    server = await startServer();
    alice = await newContext();
  });

  after(async () => {
    for (const r of readers) await r.ctx.dispose();
    if (alice) await alice.close();
    if (server) await server.stop();
  });

  it('uploads a sample, draws a box, saves', async () => {
    const { page } = alice;
    await page.goto(server.url + '/');
    await page.locator('#login-form').waitFor();
    await page.fill('#username', 'alice');
    await page.fill('#password', PASSWORD);
    await page.click('#register-btn');
    await page.locator('#current-user').waitFor();
    await page.setInputFiles('#file-input', DICOM);
    const card = page.locator('.image-card').first();
    await card.waitFor({ timeout: 60_000 });
    imageId = await card.getAttribute('data-id');
    image = await (await alice.context.request.get(`${server.url}/api/v1/images/${imageId}`)).json();
    await page.click(`.image-card[data-id="${imageId}"] a.name`);
    await page.locator('#viewport[data-ready="true"]').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(500);
    await page.keyboard.press('f');
    await page.keyboard.press('b');
    const r = await page.locator('#viewport').boundingBox();
    const s = Math.min(r.width / image.width, r.height / image.height);
    const ox = r.x + (r.width - image.width * s) / 2;
    const oy = r.y + (r.height - image.height * s) / 2;
    const at = (fx, fy) => [ox + fx * image.width * s, oy + fy * image.height * s];
    await drag(page, at(0.25, 0.4), at(0.38, 0.55));
    await page.mouse.click(...at(0.3, 0.47));
    await page.keyboard.press('5');
    await page.click('#save');
    await page.locator('#save-state', { hasText: 'saved · version' }).waitFor();
    const ann = await (await alice.context.request.get(`${server.url}/api/v1/images/${imageId}/annotations`)).json();
    assert.equal(ann.boxes.length, 1);
    assert.equal(ann.boxes[0].class_id, 4);
  });

  it('writes an impression, signs the report and downloads its PDF', async () => {
    const { page } = alice;
    await page.click('#report-new');
    await page.locator('#report-status', { hasText: 'draft' }).waitFor();
    assert.match(await page.locator('#report-findings').textContent(), /Nodule\/Mass/);
    assert.match(await page.locator('#report-findings').textContent(), /right (upper|middle|lower) zone/);
    await page.fill('#report-impression', IMPRESSION);
    await page.click('#report-save');
    await page.locator('#toast', { hasText: 'Draft saved' }).waitFor();
    await page.click('#report-sign');
    // Signing is irreversible: an in-page dialog names what it freezes first.
    await page.locator('#sign-dialog').waitFor();
    assert.match(await page.locator('#sign-dialog').textContent(), /Nodule\/Mass/);
    await page.click('#confirm-ok');
    await page.locator('#report-status', { hasText: 'signed' }).waitFor();
    assert.equal(await page.locator('#report-impression').isDisabled(), true, 'a signed report is read-only');
    await page.locator('#report-amend').waitFor();
    await shot(page, 'r1-report-signed');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-pdf')]);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'carina-pdf-')), 'report.pdf');
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    const text = execFileSync('pdftotext', [file, '-']).toString('utf8');
    assert.ok(text.replace(/\s+/g, ' ').includes(IMPRESSION), `impression in the PDF text:\n${text}`);
    assert.match(text, /Nodule\/Mass/);
    assert.match(text, /alice/);
    if (process.env.E2E_SHOTS) fs.copyFileSync(file, path.join(process.env.E2E_SHOTS, 'r1-report.pdf'));
    // The Reports page lists it.
    await page.goto(server.url + '/#/reports?q=nodule');
    await page.locator('.report-row').first().waitFor();
    assert.match(await page.locator('.report-row').first().textContent(), /signed/);
  });

  it('shows the readers side by side to the reviewer, fuses and shows agreement', async () => {
    const { page } = alice;
    const me = await (await alice.context.request.get(`${server.url}/api/v1/me`)).json();
    const adminHeaders = { 'X-CSRF-Token': me.csrf_token };
    for (const name of ['reader1', 'reader2']) readers.push(await apiUser(server.url, name, alice));
    let r = await alice.context.request.post(`${server.url}/api/v1/images/${imageId}/assignments`, {
      headers: adminHeaders, data: { readers: ['reader1', 'reader2'], reviewer: 'alice' },
    });
    assert.equal(r.status(), 201, await r.text());
    const W = image.width, H = image.height;
    const reads = [
      [{ class_id: 4, bbox: [0.25 * W, 0.4 * H, 0.38 * W, 0.55 * H] }, { class_id: 8, bbox: [0.6 * W, 0.7 * H, 0.85 * W, 0.85 * H] }],
      [{ class_id: 4, bbox: [0.26 * W, 0.41 * H, 0.4 * W, 0.56 * H] }],
    ];
    for (const [i, u] of readers.entries()) {
      r = await u.ctx.put(`/api/v1/images/${imageId}/readings/me`, { headers: { ...u.headers, 'If-Match': '0' }, data: { boxes: reads[i] } });
      assert.equal(r.status(), 200, await r.text());
      // Blind: no one else's boxes before submitting.
      r = await u.ctx.get(`/api/v1/images/${imageId}/readings`);
      assert.equal(r.status(), 403);
      r = await u.ctx.post(`/api/v1/images/${imageId}/readings/me/submit`, { headers: u.headers });
      assert.equal(r.status(), 200);
    }
    await page.goto(server.url + '/#/readings');
    await page.locator(`.review-row[data-image="${imageId}"]`).waitFor();
    await page.click(`.review-row[data-image="${imageId}"] a.open-review`);
    await page.locator('#review-grid .reader-panel').nth(2).waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('#review-grid img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 30_000 });
    assert.equal(await page.locator('#review-grid .reader-panel').count(), 3, 'all readers + one per reader');
    assert.equal(await page.locator('#review-all rect.box').count(), 3, 'every reader box on the combined view');
    await page.click('#fuse');
    await page.locator('#fused-boxes li', { hasText: 'from reader1, reader2' }).waitFor();
    await page.locator('#agreement-kappa', { hasText: "Cohen's kappa" }).waitFor();
    await page.locator('#agreement-model', { hasText: 'precision' }).waitFor();
    await shot(page, 'r2-review');
    const ann = await (await alice.context.request.get(`${server.url}/api/v1/images/${imageId}/annotations`)).json();
    const fused = ann.boxes.filter((b) => b.source.kind === 'consensus');
    assert.equal(fused.length, 2);
    assert.deepEqual(fused[0].source.readers, ['reader1', 'reader2']);
    assert.deepEqual(alice.problems.filter((p) => /Content Security Policy|page error/i.test(p)), []);
  });
});
