// Every sample radiograph in ../shared/data/samples, uploaded through the UI
// (file button for several files at once, drag-and-drop for the rest), opened
// in the viewer and checked on screen: something was drawn, with contrast,
// and for the chest CR in three DICOM encodings (15-bit MONOCHROME1) the lungs
// are darker than the mediastinum. Screenshots go to /tmp/e2e-shots/sample-*.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sharedDir } from './lib/server.js';
import { newContext, shot, pixelStats } from './lib/browser.js';

const S = path.join(sharedDir, 'data', 'samples');
const BY_BUTTON = ['dicom/RG1_UNCR.dcm', 'dicom/RG1_J2KR.dcm', 'dicom/RG1_J2KI.dcm'];
const BY_DROP = [
  'dicom/siim_cr_jpeg_baseline.dcm', 'dicom/siim_cr_monochrome1.dcm',
  'png/00000001_000.png', 'png/00027426_000.png',
  'jpeg/NORMAL2-IM-1427-0001.jpeg', 'jpeg/person1946_bacteria_4874.jpeg',
];
const MIME = { '.dcm': 'application/dicom', '.png': 'image/png', '.jpeg': 'image/jpeg' };

describe('sample radiographs in the viewer', () => {
  let server;
  let ui;
  // On-screen brightness per sample, for comparisons between samples.
  const seen = {};

  before(async () => {
    // The tests find each sample by its file name, so keep the names
    // (the default under de-identification keeps only the extension).
    server = await startServer({ env: { CARINA_ORIGINAL_FILENAMES: 'keep' } });
    ui = await newContext();
    const { page } = ui;
    await page.goto(server.url + '/');
    await page.fill('#username', 'sampler');
    await page.fill('#password', 'sample password');
    await page.click('#register-btn');
    await page.locator('#dropzone').waitFor();
  });

  after(async () => {
    if (ui) await ui.close();
    if (server) await server.stop();
  });

  it('uploads several files with the button and others by drag-and-drop', async () => {
    const { page } = ui;
    await page.setInputFiles('#file-input', BY_BUTTON.map((f) => path.join(S, f)));
    await page.locator('#upload-status', { hasText: `uploaded ${BY_BUTTON.length} file(s)` }).waitFor({ timeout: 60_000 });
    const files = BY_DROP.map((f) => ({ name: path.basename(f), type: MIME[path.extname(f)], b64: fs.readFileSync(path.join(S, f)).toString('base64') }));
    const dt = await page.evaluateHandle((files) => {
      const dt = new DataTransfer();
      for (const f of files) {
        const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], f.name, { type: f.type }));
      }
      return dt;
    }, files);
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer: dt });
    await page.locator('#upload-status', { hasText: `uploaded ${BY_DROP.length} file(s)` }).waitFor({ timeout: 60_000 });
    await page.waitForFunction((n) => document.querySelectorAll('.image-card').length === n, BY_BUTTON.length + BY_DROP.length);
    await page.waitForTimeout(1000);
    await shot(page, 'sample-library');
  });

  for (const file of [...BY_BUTTON, ...BY_DROP]) {
    const name = path.basename(file);
    it(`shows ${name}`, async () => {
      const { page } = ui;
      const problemsBefore = ui.problems.length;
      const res = await ui.context.request.get(`${server.url}/api/v1/images?per_page=100`);
      const list = await res.json();
      const img = (list.images || list).find((i) => i.original_filename === name);
      assert.ok(img, `${name} is in the library`);
      await page.goto(`${server.url}/#/images/${img.id}`);
      await page.locator('#viewport[data-ready="true"]').waitFor({ timeout: 60_000 });
      await page.waitForTimeout(500);
      assert.equal(await page.locator('#image-error').isVisible(), false,
        `image error: ${await page.locator('#image-error').textContent()}`);
      const vp = page.locator('#viewport');
      await shot(page, 'sample-' + name.replace(/\.\w+$/, ''), vp);
      // Fractions of the viewport that the fitted image covers.
      const r = await vp.boundingBox();
      const s = Math.min(r.width / img.width, r.height / img.height);
      const fx = (f) => (r.width - img.width * s) / 2 / r.width + (f * img.width * s) / r.width;
      const fy = (f) => (r.height - img.height * s) / 2 / r.height + (f * img.height * s) / r.height;
      const st = await pixelStats(page, vp, {
        image: [fx(0), fy(0), fx(1), fy(1)],
        mediastinum: [fx(0.45), fy(0.3), fx(0.55), fy(0.6)],
        lungs: [fx(0.22), fy(0.3), fx(0.34), fy(0.55)],
      });
      console.log(name, JSON.stringify({ image: st.image, mediastinum: st.mediastinum.mean, lungs: st.lungs.mean }));
      seen[name] = st;
      assert.deepEqual(ui.problems.slice(problemsBefore).filter((p) => /image load error|Invalid VOI/.test(p)), [], `${name}: loader errors`);
      assert.ok(st.image.nonBlack > 0.3, `${name}: mostly black on screen`);
      assert.ok(st.image.std > 10, `${name}: no contrast on screen`);
      if (name.startsWith('RG1_')) {
        assert.ok(st.mediastinum.mean > st.lungs.mean + 15, `${name}: lungs should be darker than the mediastinum`);
      }
    });
  }

  it('shows the MONOCHROME1 relabelling of the JPEG baseline CR inverted', () => {
    const plain = seen['siim_cr_jpeg_baseline.dcm'];
    const mono1 = seen['siim_cr_monochrome1.dcm'];
    assert.ok(plain && mono1, 'both were shown');
    // Same stored pixels, opposite photometric interpretation: the screen
    // brightness of one is the negative of the other's.
    for (const region of ['image', 'mediastinum', 'lungs']) {
      const sum = plain[region].mean + mono1[region].mean;
      assert.ok(Math.abs(sum - 255) < 25, `${region}: ${plain[region].mean} + ${mono1[region].mean} should be about 255`);
    }
    assert.ok((plain.mediastinum.mean - plain.lungs.mean) * (mono1.mediastinum.mean - mono1.lungs.mean) < 0,
      'the lungs/mediastinum contrast is reversed');
  });
});
