// Issue 15, studies: the library by study lists one row per DICOM study with
// its images side by side (the RG1 samples are one study), its rolled-up
// status; opening a study shows the library of its images; "Start report" on
// a study drafts one report over its images and opens it in the report panel,
// and the study row then shows the report's state.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sharedDir } from './lib/server.js';
import { shot } from './lib/browser.js';
import { adminContext, csrfOf } from './lib/fixtures.js';

const DICOM = path.join(sharedDir, 'data', 'samples', 'dicom');
const RG1 = ['RG1_UNCR.dcm', 'RG1_J2KR.dcm'];
const OTHER = 'siim_cr_jpeg_baseline.dcm';

describe('studies in the library', () => {
  let server;
  let admin;
  let headers;
  const uploaded = {};

  before(async () => {
    server = await startServer();
    admin = await adminContext(server.url);
    headers = { 'X-CSRF-Token': await csrfOf(admin, server.url) };
    for (const name of [...RG1, OTHER]) {
      const file = path.join(DICOM, name);
      assert.ok(fs.existsSync(file), `sample missing: ${file}`);
      const res = await admin.context.request.post(`${server.url}/api/v1/images`, {
        headers,
        multipart: { file: { name, mimeType: 'application/dicom', buffer: fs.readFileSync(file) } },
      });
      assert.equal(res.status(), 201, await res.text());
      uploaded[name] = await res.json();
    }
  });

  after(async () => {
    if (admin) await admin.close();
    if (server) await server.stop();
  });

  it('lists each study once with its images together and its status', async () => {
    const { page } = admin;
    await page.goto(server.url + '/#/images');
    await page.locator('#by-study').click();
    await page.waitForURL(/#\/studies/);
    const rows = page.locator('.study-row');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    const rg1 = page.locator(`.study-row[data-study="${uploaded[RG1[0]].study_pseudonym}"]`);
    const ids = await rg1.locator('.study-image').evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
    assert.deepEqual(ids, RG1.map((n) => uploaded[n].id));
    assert.match(await rg1.locator('.study-head').innerText(), /2 image\(s\) · CR/);
    assert.equal(await rg1.locator('.status').innerText(), 'new');
    // The thumbnails load.
    await rg1.locator('.study-image img').first().evaluate((img) => img.decode());
    const text = await page.locator('#study-list').innerText();
    assert.ok(!text.includes('CompressedSamples'), 'no patient name of the originals');
    await shot(page, 'studies-list');
  });

  it('opening a study shows all of its images', async () => {
    const { page } = admin;
    const study = uploaded[RG1[0]].study_pseudonym;
    await page.locator(`.study-row[data-study="${study}"] .study-open`).click();
    await page.waitForURL(/#\/images\?study=/);
    const cards = page.locator('.image-card');
    await cards.first().waitFor();
    const ids = (await cards.evaluateAll((els) => els.map((e) => Number(e.dataset.id)))).sort((a, b) => a - b);
    assert.deepEqual(ids, RG1.map((n) => uploaded[n].id).sort((a, b) => a - b));
    assert.ok(await page.locator('#study-filter').isVisible());
    // The study's library offers its report too (none yet).
    await page.locator('.filters .study-report .start-report').waitFor();
  });

  it('starts a report from a study: one draft over both images, opened', async () => {
    const { page } = admin;
    const study = uploaded[RG1[0]].study_pseudonym;
    const ids = RG1.map((n) => uploaded[n].id);
    await page.goto(server.url + '/#/studies');
    const row = page.locator(`.study-row[data-study="${study}"]`);
    // Open the study, start its report there.
    await row.locator('.start-report').waitFor();
    await row.locator('.study-open').click();
    await page.waitForURL(/#\/images\?study=/);
    await page.locator('.filters .start-report').click();
    await page.waitForURL(new RegExp(`#/images/${ids[0]}$`));
    await page.locator('#report-status').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('#report-status').innerText(), 'draft');
    const shown = await page.locator('#report-images a').evaluateAll((els) => els.map((e) => Number(e.dataset.id)));
    assert.deepEqual(shown, ids);
    // The names come in place of the ids: no bare "image N".
    await page.waitForFunction(() => ![...document.querySelectorAll('#report-images a')].some((a) => /^image \d+$/.test(a.textContent)));
    await shot(page, 'studies-report-started');
    // One report, over the study's two images.
    const res = await admin.context.request.get(`${server.url}/api/v1/reports`);
    const { reports } = await res.json();
    assert.equal(reports.length, 1);
    assert.deepEqual(reports[0].image_ids, ids);
    assert.equal(reports[0].study_pseudonym, study);
    // The study row shows the report's state, and opens it; the other study has none.
    await page.goto(server.url + '/#/studies');
    const state = row.locator('.report-state');
    await state.waitFor();
    assert.equal(await state.innerText(), 'report draft');
    await shot(page, 'studies-report-state');
    await page.locator(`.study-row[data-study="${uploaded[OTHER].study_pseudonym}"] .start-report`).waitFor();
    await state.click();
    await page.waitForURL(new RegExp(`#/images/${ids[0]}$`));
    await page.locator('#report-images').waitFor({ timeout: 60_000 });
  });

  it('a search narrows the studies', async () => {
    const { page } = admin;
    const patient = uploaded[OTHER].patient_pseudonym;
    await page.goto(`${server.url}/#/studies?q=${encodeURIComponent(patient.slice(0, 8))}`);
    await page.reload();
    await page.locator('.study-row').first().waitFor();
    assert.equal(await page.locator('.study-row').count(), 1);
    assert.match(await page.locator('#study-pager').innerText(), /1 study/);
  });
});
