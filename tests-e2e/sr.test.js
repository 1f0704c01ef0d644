// Boxes as a DICOM SR in the editor: "Export SR" downloads the image's
// TID 1500 SR, "Import SR" posts a chosen SR back and shows the boxes it
// restored; a signed report offers its DICOM SR.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from './lib/server.js';
import { adminContext, csrfOf, uploadDisc, postJson } from './lib/fixtures.js';
import { waitReady, listedBoxes } from './lib/editor.js';

describe('DICOM SR export and import in the editor', () => {
  let server;
  let admin;
  let imageId;
  let headers;

  before(async () => {
    server = await startServer();
    admin = await adminContext(server.url);
    headers = { 'X-CSRF-Token': await csrfOf(admin, server.url) };
    const req = admin.context.request;
    imageId = (await uploadDisc(req, server.url, headers, 21)).id;
    const res = await req.put(`${server.url}/api/v1/images/${imageId}/annotations`, {
      headers: { ...headers, 'If-Match': '0' },
      data: { boxes: [{ class_id: 6, bbox: [20.5, 30.25, 120.75, 90] }] },
    });
    assert.equal(res.status(), 200, await res.text());
  });

  after(async () => {
    if (admin) await admin.close();
    if (server) await server.stop();
  });

  it('exports the SR, and importing it back restores a deleted box', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/#/images/${imageId}`);
    await waitReady(page, imageId);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#sr-export')]);
    assert.equal(download.suggestedFilename(), `carina-image-${imageId}-sr.dcm`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'carina-sr-')), 'sr.dcm');
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.subarray(128, 132).toString(), 'DICM');

    // Delete the box on the server, then import the SR in the page.
    const req = admin.context.request;
    const cur = await (await req.get(`${server.url}/api/v1/images/${imageId}/annotations`)).json();
    const del = await req.put(`${server.url}/api/v1/images/${imageId}/annotations`, {
      headers: { ...headers, 'If-Match': String(cur.version) },
      data: { boxes: [] },
    });
    assert.equal(del.status(), 200);
    await page.reload();
    await waitReady(page, imageId);
    assert.equal((await listedBoxes(page)).length, 0);
    await page.setInputFiles('#sr-import-file', file);
    await page.locator('#toast', { hasText: 'SR imported' }).waitFor();
    const boxes = await listedBoxes(page);
    assert.equal(boxes.length, 1);
    assert.equal(boxes[0].classId, 6);
    boxes[0].bbox.forEach((v, i) => assert.ok(Math.abs(v - [20.5, 30.25, 120.75, 90][i]) <= 0.01, `${boxes[0].bbox}`));
  });

  it('a signed report offers its DICOM SR', async () => {
    const req = admin.context.request;
    const draft = await postJson(req, server.url, headers, `/images/${imageId}/reports`, { impression: 'Pneumothorax.' });
    await postJson(req, server.url, headers, `/reports/${draft.id}/sign`, undefined);
    const { page } = admin;
    await page.goto(`${server.url}/#/images/${imageId}`);
    await page.reload();
    await page.locator('#report-sr').waitFor({ timeout: 60_000 });
    const href = await page.locator('#report-sr').getAttribute('href');
    assert.equal(href, `/api/v1/reports/${draft.id}/sr`);
    const res = await req.get(server.url + href);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['content-type'], 'application/dicom');
  });
});
