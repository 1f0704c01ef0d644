// Issue 13, the library and naming items: cards, the reports list and the
// reading pages name an image by its display name (never "image 15"); an
// admin sets a display label; cards count reviewed boxes and proposals at
// or above the user's threshold apart, in badges that do not wrap; the upload
// status sits on its own line; the Models page has padding and its deployed
// card is not all bold.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sharedDir } from './lib/server.js';
import { shot } from './lib/browser.js';
import { adminContext, csrfOf, postJson } from './lib/fixtures.js';

const PNG = path.join(sharedDir, 'data', 'samples', 'png', '00000001_000.png');
const THRESHOLD = 0.05;

describe('library cards and names', () => {
  let server;
  let admin;
  let headers;
  let image;
  const api = (p) => admin.context.request.get(`${server.url}/api/v1${p}`).then((r) => r.json());

  before(async () => {
    assert.ok(fs.existsSync(PNG), `sample missing: ${PNG}`);
    server = await startServer({ env: { CARINA_PREDICT_ON_UPLOAD: 'true' } });
    admin = await adminContext(server.url);
    headers = { 'X-CSRF-Token': await csrfOf(admin, server.url) };
    const pref = await admin.context.request.put(`${server.url}/api/v1/me/preferences`, { headers, data: { proposal_threshold: THRESHOLD } });
    assert.equal(pref.status(), 200);
  });

  after(async () => {
    if (admin) await admin.close();
    if (server) await server.stop();
  });

  it('uploads in the library; the status line sits below the drop-zone sentence', async () => {
    const { page } = admin;
    await page.goto(server.url + '/#/images');
    await page.reload(); // the same hash would not render the library again
    await page.setInputFiles('#file-input', PNG);
    await page.locator('#upload-status', { hasText: 'uploaded 1 file(s)' }).waitFor({ timeout: 60_000 });
    const sentence = await page.locator('#dropzone .dropzone-line').boundingBox();
    const status = await page.locator('#upload-status').boundingBox();
    assert.ok(status.y >= sentence.y + sentence.height - 1, `status ${JSON.stringify(status)} below the sentence ${JSON.stringify(sentence)}`);
    const id = await page.locator('.image-card').first().getAttribute('data-id');
    // The model's proposals land in the background.
    for (let i = 0; i < 120; i++) {
      image = await api(`/images/${id}`);
      if (image.prediction_status === 'done' || image.prediction_status === 'failed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(image.prediction_status, 'done');
  });

  it('a card shows the display name and counts reviewed boxes and proposals apart', async () => {
    const { page } = admin;
    assert.equal(typeof image.display_name, 'string');
    assert.ok(image.display_name.length > 0);
    await page.goto(server.url + '/#/images');
    await page.reload(); // the same hash would not render the library again
    const card = page.locator(`.image-card[data-id="${image.id}"]`);
    await card.waitFor();
    assert.equal((await card.locator('a.name').textContent()).trim(), image.display_name);
    const n = image.proposals_above_threshold;
    assert.equal(typeof n, 'number');
    if (n > 0) {
      assert.equal((await card.locator('.proposals-badge').textContent()).trim(), `${n} proposal${n === 1 ? '' : 's'} ≥ ${THRESHOLD.toFixed(2)}`);
    }
    assert.equal(await card.locator('.reviewed-badge').count(), 0, 'nothing reviewed yet');
    // Accept one proposal: one reviewed box, one proposal fewer.
    const ann = await api(`/images/${image.id}/annotations`);
    const proposed = ann.boxes.filter((b) => b.status === 'proposed').sort((a, b) => b.score - a.score);
    assert.ok(proposed.length > 0, 'the demo model proposed something');
    const body = { no_finding: false, boxes: ann.boxes.map((b) => ({ id: b.id, class_id: b.class_id, bbox: b.bbox, status: b.id === proposed[0].id ? 'accepted' : b.status })) };
    const put = await admin.context.request.put(`${server.url}/api/v1/images/${image.id}/annotations`, { headers: { ...headers, 'If-Match': `"${ann.version}"` }, data: body });
    assert.equal(put.status(), 200, await put.text());
    image = await api(`/images/${image.id}`);
    assert.equal(image.reviewed_box_count, 1);
    await page.reload();
    await card.locator('.reviewed-badge').waitFor();
    assert.equal((await card.locator('.reviewed-badge').textContent()).trim(), '1 reviewed box');
    const m = image.proposals_above_threshold;
    if (m > 0) assert.match(await card.locator('.proposals-badge').textContent(), new RegExp(`^${m} proposals? ≥`));
    else assert.equal(await card.locator('.proposals-badge').count(), 0);
    // No badge wraps onto a second line.
    const tall = await card.locator('.badge').evaluateAll((bs) => bs.filter((b) => b.getBoundingClientRect().height > parseFloat(getComputedStyle(b).fontSize) * 2).map((b) => b.textContent));
    assert.deepEqual(tall, []);
    await shot(page, 'library-cards');
  });

  it('an admin sets a display label, and the reports list uses it', async () => {
    const { page } = admin;
    const card = page.locator(`.image-card[data-id="${image.id}"]`);
    await card.locator('.label-btn').click();
    await page.fill('#display-label-input', 'Teaching case 4');
    await page.click('#label-dialog-ok');
    await page.locator('#label-dialog').waitFor({ state: 'detached' });
    await card.locator('a.name', { hasText: 'Teaching case 4' }).waitFor();
    assert.equal((await api(`/images/${image.id}`)).display_label, 'Teaching case 4');
    await postJson(admin.context.request, server.url, headers, `/images/${image.id}/reports`, { impression: 'Teaching case.' });
    await page.goto(server.url + '/#/reports');
    await page.locator('.report-row .report-image', { hasText: 'Teaching case 4' }).waitFor();
    // Clearing it brings the generated name back.
    await page.goto(server.url + '/#/images');
    await page.reload(); // the same hash would not render the library again
    await card.locator('.label-btn').click();
    await page.fill('#display-label-input', '');
    await page.click('#label-dialog-ok');
    await page.locator('#label-dialog').waitFor({ state: 'detached' });
    const back = await api(`/images/${image.id}`);
    assert.equal(back.display_label, null);
    await card.locator('a.name', { hasText: back.display_name }).waitFor();
  });

  it('the Models page has padding and a deployed card that is not all bold', async () => {
    const { page } = admin;
    await page.goto(server.url + '/#/models');
    const deployed = page.locator('.model-card.deployed');
    await deployed.first().waitFor();
    const pad = await page.locator('.models-page').evaluate((e) => parseFloat(getComputedStyle(e).paddingLeft));
    assert.ok(pad >= 8, `padding ${pad}`);
    const weight = await deployed.first().locator('div.small').first().evaluate((e) => getComputedStyle(e).fontWeight);
    assert.equal(weight, '400');
    await shot(page, 'models-page');
    assert.deepEqual(admin.problems.filter((p) => /page error|Content Security Policy/i.test(p)), []);
  });
});

