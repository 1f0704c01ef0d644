// "Send to PACS" in the editor: dcmtk's storescp on a free loopback port is
// the peer (CARINA_DICOM_PEERS); a radiologist draws a box on a sample
// DICOM, saves, sends its SR from the side panel and sees the success; the
// SR storescp wrote holds the box. A peer that is down shows the failure.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startServer, sharedDir } from './lib/server.js';
import { adminContext, csrfOf } from './lib/fixtures.js';
import { waitReady, fitMapping, drag, listedBoxes } from './lib/editor.js';

const COMPREHENSIVE_3D_SR = '1.2.840.10008.5.1.4.1.1.88.34';
const hasDcmtk = spawnSync('storescp', ['--version']).status === 0;
if (!hasDcmtk) assert.ok(!process.env.CI, 'CI must have dcmtk (storescp, dsrdump)');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function listening(port) {
  const start = Date.now();
  for (;;) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    assert.ok(Date.now() - start < 10_000, 'storescp did not listen');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Send to PACS from the editor', { skip: hasDcmtk ? false : 'dcmtk (storescp) is not installed' }, () => {
  let server;
  let admin;
  let scp;
  let outDir;
  let image;

  before(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carina-storescp-'));
    const port = await freePort();
    const down = await freePort();
    scp = spawn('storescp', ['--aetitle', 'STORESCP', '--output-directory', outDir, String(port)], { stdio: 'ignore' });
    await listening(port);
    server = await startServer({
      env: {
        CARINA_DICOM_PEERS: `STORESCP@127.0.0.1:${port},DOWN@127.0.0.1:${down}`,
        CARINA_JOB_MAX_ATTEMPTS: '1',
      },
    });
    admin = await adminContext(server.url);
    const headers = { 'X-CSRF-Token': await csrfOf(admin, server.url) };
    const buffer = fs.readFileSync(path.join(sharedDir, 'data', 'samples', 'dicom', 'RG1_UNCR.dcm'));
    const res = await admin.context.request.post(`${server.url}/api/v1/images`, {
      headers,
      multipart: { file: { name: 'RG1_UNCR.dcm', mimeType: 'application/dicom', buffer } },
    });
    assert.equal(res.status(), 201, await res.text());
    const body = await res.json();
    image = body.images ? body.images[0] : body;
  });

  after(async () => {
    if (admin) await admin.close();
    if (server) await server.stop();
    if (scp) scp.kill();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('sends the drawn box as an SR to storescp and shows the success', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/#/images/${image.id}`);
    await waitReady(page, image.id);
    // The peers are listed by AE title.
    await page.locator('#send-pacs:enabled').waitFor();
    const options = await page.locator('#send-destination option').evaluateAll((els) => els.map((e) => e.value));
    assert.deepEqual(options, ['STORESCP', 'DOWN']);

    await page.keyboard.press('f');
    await page.keyboard.press('b');
    await page.waitForTimeout(200);
    const m = await fitMapping(page, image.width, image.height);
    const want = [0.3 * image.width, 0.35 * image.height, 0.45 * image.width, 0.5 * image.height];
    await drag(page, m.toPage([want[0], want[1]]), m.toPage([want[2], want[3]]));
    const boxes = await listedBoxes(page);
    assert.equal(boxes.length, 1);
    await page.click('#save');
    await page.locator('#save-state', { hasText: 'saved · version' }).waitFor();

    await page.selectOption('#send-destination', 'STORESCP');
    await page.selectOption('#send-what', 'sr');
    await page.click('#send-pacs');
    const status = page.locator('#send-status[data-status="done"]');
    await status.waitFor({ timeout: 60_000 });
    assert.match(await status.textContent(), /Sent to STORESCP: 1 object stored/);

    const files = fs.readdirSync(outDir);
    assert.equal(files.length, 1, `storescp received ${files}`);
    const file = path.join(outDir, files[0]);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.subarray(128, 132).toString(), 'DICM');
    assert.ok(bytes.includes(Buffer.from(COMPREHENSIVE_3D_SR)), 'a Comprehensive 3D SR');
    const dump = spawnSync('dsrdump', ['+Pu', file], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    assert.match(dump.stdout, /Imaging Measurement Report/);
    assert.match(dump.stdout, /SCOORD:\(,,"Image Region"\)=\(POLYLINE,/);
    // The region is the drawn box: its first point is the box's top left corner.
    const [, x, y] = dump.stdout.match(/\(POLYLINE,([\d.]+)\/([\d.]+)/);
    assert.ok(Math.abs(Number(x) - boxes[0].bbox[0]) < 0.1 && Math.abs(Number(y) - boxes[0].bbox[1]) < 0.1,
      `SR point ${x}/${y} vs box ${boxes[0].bbox}`);
  });

  it('shows why a send to a peer that is down failed', async () => {
    const { page } = admin;
    await page.selectOption('#send-destination', 'DOWN');
    await page.click('#send-pacs');
    const status = page.locator('#send-status[data-status="failed"]');
    await status.waitFor({ timeout: 60_000 });
    assert.match(await status.textContent(), /Sending to DOWN failed: .*association/);
  });
});
