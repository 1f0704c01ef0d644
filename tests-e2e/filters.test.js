// Issue 13, "Reading a hundred films": the library filters by study and by
// assignment as well as by status, so the editor's worklist (which walks the
// library's current filter) can go through one study or one's blind readings.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sharedDir } from './lib/server.js';
import { loginUi, PASSWORD } from './lib/accounts.js';
import { newContext } from './lib/browser.js';
import { adminContext, apiAccount, csrfOf, postJson } from './lib/fixtures.js';

const DICOMS = ['RG1_UNCR.dcm', 'RG1_J2KR.dcm', 'siim_cr_monochrome1.dcm', 'siim_cr_jpeg_baseline.dcm']
  .map((f) => path.join(sharedDir, 'data', 'samples', 'dicom', f));

describe('library filters by study and assignment', () => {
  let server;
  let admin;
  let reader;
  let images = [];

  before(async () => {
    for (const f of DICOMS) assert.ok(fs.existsSync(f), `sample missing: ${f}`);
    server = await startServer();
    admin = await adminContext(server.url);
    const headers = { 'X-CSRF-Token': await csrfOf(admin, server.url) };
    for (const f of DICOMS) {
      const res = await admin.context.request.post(`${server.url}/api/v1/images`, {
        headers,
        multipart: { file: { name: path.basename(f), mimeType: 'application/dicom', buffer: fs.readFileSync(f) } },
      });
      assert.equal(res.status(), 201, await res.text());
      images.push(await res.json());
    }
    const r = await apiAccount(admin, server.url, 'reader');
    await r.ctx.dispose();
    await postJson(admin.context.request, server.url, headers, `/images/${images[2].id}/assignments`,
      { readers: ['reader'], reviewer: 'alice' });
    reader = await newContext();
    await loginUi(reader.page, server.url, 'reader', PASSWORD);
  });

  after(async () => {
    if (reader) await reader.close();
    if (admin) await admin.close();
    if (server) await server.stop();
  });

  const shownIds = async (page) =>
    (await page.locator('.image-card').evaluateAll((cards) => cards.map((c) => Number(c.dataset.id)))).sort((a, b) => a - b);

  it("a card's study link lists exactly that study's images; the chip clears it", async () => {
    const { page } = admin;
    await page.goto(`${server.url}/#/images`);
    await page.reload();
    await page.locator('.image-card').nth(DICOMS.length - 1).waitFor();
    const first = images[0];
    await page.click(`.image-card[data-id="${first.id}"] a.study-link`);
    await page.locator('#study-filter').waitFor();
    const expected = images.filter((i) => i.study_pseudonym === first.study_pseudonym).map((i) => i.id).sort((a, b) => a - b);
    await page.waitForFunction((n) => document.querySelectorAll('.image-card').length === n, expected.length);
    assert.deepEqual(await shownIds(page), expected);
    assert.ok(expected.length < images.length, 'the samples hold more than one study');
    assert.equal(await page.locator('a.study-link').count(), 0, 'no study links inside a study');
    await page.click('#study-filter-clear');
    await page.waitForFunction((n) => document.querySelectorAll('.image-card').length === n, images.length);
    assert.equal(await page.locator('#study-filter').count(), 0);
  });

  it('bench: opening the editor from the library (printed, not asserted)', async () => {
    const { page } = admin;
    const times = [];
    for (let i = 0; i < 8; i++) {
      const img = images[i % images.length];
      await page.goto(`${server.url}/#/images`);
      await page.locator(`.image-card[data-id="${img.id}"] a.name`).waitFor();
      const t0 = Date.now();
      await page.click(`.image-card[data-id="${img.id}"] a.name`);
      // The editor shows that image (not the one opened before).
      await page.locator(`#viewport[data-ready="true"][data-image-id="${img.id}"]`).waitFor({ timeout: 60_000 });
      times.push(Date.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = (times[3] + times[4]) / 2;
    console.log(`bench: editor open from the library, median ${median} ms of ${times.length} (min ${times[0]}, max ${times[times.length - 1]}; 4 sample DICOMs up to 7 MB)`);
  });

  it('"assigned to me" lists the blind readings only, and opens them in the reading view', async () => {
    const { page } = reader;
    await page.goto(`${server.url}/#/images`);
    await page.reload();
    await page.locator('.image-card').nth(DICOMS.length - 1).waitFor();
    await page.check('#assigned-filter');
    await page.waitForFunction(() => document.querySelectorAll('.image-card').length === 1);
    assert.deepEqual(await shownIds(page), [images[2].id]);
    assert.match(page.url(), /assigned=me/);
    assert.match(await page.locator('.image-card a.name').getAttribute('href'), /#\/readings\//);
  });
});
