// A batch of 100 uploads with predictions on upload, in headless Chromium
// against the real `carina serve` (bundled demo model): the library uploads
// them one request each while the page stays usable (the grid fills in as
// images arrive, the reader can open the Models page and come back, the API
// answers), every image is stored once and gets its model's output, and the
// page never blocks its main thread for long (Long Tasks API).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { newContext, shot } from './lib/browser.js';
import { discPng } from './lib/png.js';

const N = 100;

describe('a batch of 100 uploads', () => {
  let server;
  let ctx;

  before(async () => {
    server = await startServer({ env: { CARINA_PREDICT_ON_UPLOAD: 'true' } });
    ctx = await newContext();
    const { page } = ctx;
    await page.goto(server.url + '/');
    await page.locator('#login-form').waitFor();
    await page.fill('#username', 'batcher');
    await page.fill('#password', 'correct horse battery');
    await page.click('#register-btn');
    await page.locator('#current-user').waitFor();
    await page.locator('#dropzone').waitFor();
  });

  after(async () => {
    if (ctx) await ctx.close();
    if (server) await server.stop();
  });

  it('uploads 100 files, stays usable meanwhile, and predicts every image', async () => {
    const { page } = ctx;
    await page.evaluate(() => {
      window.__longest = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    const files = Array.from({ length: N }, (_, k) => ({
      name: `batch-${String(k).padStart(3, '0')}.png`,
      mimeType: 'image/png',
      buffer: discPng(128 + (k % 7) * 4, 40 + (k % 9) * 5, 50 + (k % 5) * 6, 10 + (k % 4) * 3, k)[0],
    }));
    await page.setInputFiles('#file-input', files);
    // Mid-batch: the grid has started to fill, the status counts on, and the
    // server still answers other requests.
    await page.waitForFunction(() => document.querySelectorAll('.image-card').length >= 5, null, { timeout: 120_000 });
    assert.match(await page.locator('#upload-status').textContent(), /uploading 100 file\(s\)… \d+\/100|uploaded 100 file\(s\)/);
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
    assert.equal(me, 200);
    // The reader moves around while it runs.
    await page.click('#nav-models');
    await page.locator('.model-card.deployed').waitFor();
    await page.goBack();
    await page.locator('#dropzone').waitFor();

    // Leaving the library does not stop the batch (the loop lives in the
    // upload call); wait until the server has every image.
    const req = ctx.context.request;
    let total = 0;
    for (let i = 0; i < 600 && total < N; i++) {
      total = (await (await req.get(`${server.url}/api/v1/images?per_page=1`)).json()).total;
      if (total < N) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(total, N, 'every file stored once');
    // Every image gets its model output.
    let open = N;
    for (let i = 0; i < 600 && open > 0; i++) {
      const jobs = (await (await req.get(`${server.url}/api/v1/jobs?limit=1000`)).json()).jobs;
      assert.ok(!jobs.some((j) => j.status === 'failed'), JSON.stringify(jobs.find((j) => j.status === 'failed')));
      open = N - jobs.filter((j) => j.kind === 'predict' && j.status === 'done').length;
      if (open > 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(open, 0, 'all 100 predictions done');
    const images = (await (await req.get(`${server.url}/api/v1/images?per_page=500`)).json()).images;
    assert.ok(images.every((i) => i.prediction_status === 'done'));
    const longest = await page.evaluate(() => window.__longest);
    console.log(`BATCH longest main-thread task during the batch: ${Math.round(longest)} ms`);
    assert.ok(longest < 5000, `the page was blocked for ${longest} ms`);
    await page.reload();
    await page.waitForFunction((n) => /· (\d+) image\(s\)/.exec(document.querySelector('#pager')?.textContent || '')?.[1] === String(n), N);
    await shot(page, 'batch-100');
  });
});
