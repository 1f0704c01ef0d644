// Screenshots for the README, at 1440 × 900, from the real `carina serve`
// with the shipped sample radiographs (../shared/data/samples) and its demo
// model: the library, the editor with the model's proposals, the editor
// reached from a filtered library (the worklist, with its progress where the
// build has one) and a blind reader's reading view. Writes PNGs into
// docs/screenshots/. Run it with `scripts/screenshots.sh` (builds the web
// editor first) or `npm run screenshots` here, with CARINA_BIN and
// CARINA_WEB_DIR as for the browser tests.
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sharedDir, repoRoot } from './lib/server.js';
import { newContext } from './lib/browser.js';
import { registerFirst, createUser, loginUi, PASSWORD } from './lib/accounts.js';

const OUT = process.env.SCREENSHOTS_DIR || path.join(repoRoot, 'docs', 'screenshots');
const SAMPLES = path.join(sharedDir, 'data', 'samples');
const FILES = [
  'png/00000001_000.png', 'dicom/siim_cr_jpeg_baseline.dcm', 'dicom/RG1_UNCR.dcm',
  'png/00027426_000.png', 'jpeg/NORMAL2-IM-1427-0001.jpeg', 'jpeg/person1946_bacteria_4874.jpeg',
  'dicom/RG1_J2KR.dcm',
];
const VIEWPORT = { width: 1440, height: 900 };
const MIME = { '.dcm': 'application/dicom', '.png': 'image/png', '.jpeg': 'image/jpeg' };
// Proposals drawn in the editor shot: the threshold is set just under the
// score of the N-th best proposal (the demo model's scores are low).
const SHOWN_PROPOSALS = 4;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function save(page, name) {
  const file = path.join(OUT, name + '.png');
  await page.screenshot({ path: file });
  console.log(`wrote ${path.relative(repoRoot, file)}`);
}

async function settle(page) {
  await page.waitForLoadState('networkidle').catch(() => {});
  // Let thumbnails decode and the toast fade.
  await page.evaluate(() => Promise.all([...document.images].map((i) => (i.complete ? null : i.decode().catch(() => null)))));
  await page.evaluate(() => {
    const t = document.getElementById('toast');
    if (t) t.hidden = true;
  });
}

async function main() {
  for (const f of FILES) {
    if (!fs.existsSync(path.join(SAMPLES, f))) throw new Error(`sample missing: ${path.join(SAMPLES, f)}`);
  }
  fs.mkdirSync(OUT, { recursive: true });
  const server = await startServer({ env: { CARINA_PREDICT_ON_UPLOAD: 'true' } });
  const admin = await newContext();
  const reader = await newContext();
  try {
    const { page } = admin;
    await page.setViewportSize(VIEWPORT);
    await registerFirst(page, server.url, 'dr.grey');
    await createUser(admin, server.url, 'dr.house', 'radiologist', PASSWORD);
    const req = admin.context.request;
    const me = await (await req.get(`${server.url}/api/v1/me`)).json();
    const headers = { 'X-CSRF-Token': me.csrf_token };
    const ids = [];
    for (const f of FILES) {
      const res = await req.post(`${server.url}/api/v1/images`, {
        headers, multipart: { file: { name: path.basename(f), mimeType: MIME[path.extname(f)], buffer: fs.readFileSync(path.join(SAMPLES, f)) } },
      });
      if (res.status() >= 300) throw new Error(`upload ${f}: ${res.status()} ${await res.text()}`);
      const body = await res.json();
      ids.push(String(body.id));
    }
    // Wait for the demo model's proposals on every image.
    const api = async (p) => (await req.get(`${server.url}/api/v1${p}`)).json();
    for (let i = 0; i < 240; i++) {
      const { images } = await api('/images?per_page=100');
      if (images.every((im) => !im.prediction_status || im.prediction_status === 'done' || im.prediction_status === 'failed')) break;
      await sleep(500);
    }
    const [editorId, readingId] = ids;
    const ann = await api(`/images/${editorId}/annotations`);
    const scores = ann.boxes.filter((b) => b.status === 'proposed' && typeof b.score === 'number').map((b) => b.score).sort((a, b) => b - a);
    const threshold = scores.length ? Math.max(0.05, Math.floor(scores[Math.min(SHOWN_PROPOSALS, scores.length) - 1] * 100) / 100) : 0.3;
    await req.put(`${server.url}/api/v1/me/preferences`, { headers, data: { proposal_threshold: threshold } });
    // Some history: one image reviewed and done, one in review.
    {
      const doneId = ids[2];
      const other = await api(`/images/${doneId}/annotations`);
      await req.put(`${server.url}/api/v1/images/${doneId}/annotations`, {
        headers: { ...headers, 'If-Match': `"${other.version}"` },
        data: { no_finding: true, boxes: other.boxes.map((b) => ({ id: b.id, class_id: b.class_id, bbox: b.bbox, status: b.status === 'proposed' ? 'rejected' : b.status })) },
      });
      await req.patch(`${server.url}/api/v1/images/${doneId}`, { headers, data: { status: 'done' } });
    }
    // The blind reading: dr.house reads the second image, dr.grey reviews.
    await req.post(`${server.url}/api/v1/images/${readingId}/assignments`, { headers, data: { readers: ['dr.house'], reviewer: 'dr.grey' } });

    // 1. The library.
    await page.goto(server.url + '/#/images');
    await page.reload(); // the same hash would not render the library again
    await page.locator('.image-card').nth(FILES.length - 1).waitFor();
    await settle(page);
    await save(page, 'library');

    // 2. The editor with the model's proposals.
    await page.goto(server.url + `/#/images/${editorId}`);
    await page.locator('#viewport[data-ready="true"]').waitFor({ timeout: 60_000 });
    await sleep(800);
    await settle(page);
    await save(page, 'editor');

    // 3. The worklist: the editor opened from the library filtered to new
    // images (Next / Previous and the progress where the build has them).
    await page.goto(server.url + '/#/images?status=new');
    await page.locator('.image-card').first().waitFor();
    await page.locator('.image-card a.name').first().click();
    await page.locator('#viewport[data-ready="true"]').waitFor({ timeout: 60_000 });
    await sleep(800);
    await settle(page);
    await save(page, 'worklist');

    // 4. The blind reader's view, with one box of theirs saved.
    const r = reader.page;
    await r.setViewportSize(VIEWPORT);
    await loginUi(r, server.url, 'dr.house');
    const rreq = reader.context.request;
    const rme = await (await rreq.get(`${server.url}/api/v1/me`)).json();
    const img = await (await rreq.get(`${server.url}/api/v1/images/${readingId}`)).json();
    const W = img.width, H = img.height;
    await rreq.put(`${server.url}/api/v1/images/${readingId}/readings/me`, {
      headers: { 'X-CSRF-Token': rme.csrf_token, 'If-Match': '"0"' },
      data: { boxes: [{ class_id: 4, bbox: [Math.round(0.22 * W), Math.round(0.3 * H), Math.round(0.36 * W), Math.round(0.45 * H)] }] },
    });
    await r.goto(server.url + '/#/images');
    await r.locator(`.image-card[data-id="${readingId}"] a.name`).click();
    await r.locator('#reading-viewport[data-ready="true"]').waitFor({ timeout: 60_000 });
    await sleep(500);
    await settle(r);
    await save(r, 'reading');
  } finally {
    await reader.close();
    await admin.close();
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
