// Issue 13, "Reading a hundred films": the worklist end to end in headless
// Chromium. Twenty generated PNGs with the bundled model's proposals; the
// library filtered to status "new"; the first image opened from it; then
// the keyboard only: ] / [ / N / Shift+N walk the list, Shift+Enter accepts
// the proposals shown, saves, marks the image done and opens the next one,
// Tab + X rejects a proposal first on some images. Every image must end
// `done` with exactly the expected boxes accepted/rejected, and the progress
// must read "k of 20 reviewed". The time from the key to the next image on
// screen is printed as `bench:` lines (not asserted).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { registerFirst } from './lib/accounts.js';
import { newContext, shot } from './lib/browser.js';
import { discPng } from './lib/png.js';
import { apiOf, waitReady } from './lib/editor.js';

const N = 20;
const CAP = 10; // web/src/editor/review.js PROPOSAL_CAP

const quantile = (xs, q) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * q))] : NaN;
};
const median = (xs) => quantile(xs, 0.5);
/** What the editor draws: the best CAP pending proposals at or above the threshold. */
const drawn = (boxes, t) => {
  const top = new Set(boxes.filter((b) => b.status === 'proposed' && b.score >= t).sort((a, b) => b.score - a.score).slice(0, CAP).map((b) => b.id));
  return boxes.filter((b) => top.has(b.id));
};

describe('issue 13: worklist — review 20 images with the keyboard only', () => {
  let server;
  let ctx;
  let api;
  let ids; // in library order (newest first)
  let threshold;
  const expected = new Map(); // id -> {accepted:Set, rejected:Set}

  before(async () => {
    server = await startServer();
    ctx = await newContext();
    await ctx.page.setViewportSize({ width: 1440, height: 900 });
    await registerFirst(ctx.page, server.url, 'wanda');
    api = await apiOf(ctx, server.url);
    const uploaded = [];
    for (let i = 0; i < N; i++) {
      const size = 256 + 32 * (i % 4);
      const [png] = discPng(size, Math.round(size * (0.3 + 0.02 * i)), Math.round(size * 0.45), Math.round(size * (0.1 + 0.005 * i)), i);
      uploaded.push(await api.upload(`film-${String(i + 1).padStart(2, '0')}.png`, png));
    }
    const t0 = Date.now();
    for (const img of uploaded) {
      const r = await api.post(`/images/${img.id}/predictions?wait=true`);
      assert.equal(r.job.status, 'done');
    }
    console.log(`model on ${N} images: ${Date.now() - t0} ms`);
    ids = uploaded.map((i) => String(i.id)).sort((a, b) => Number(b) - Number(a));
    // A threshold at the 80th percentile of the scores: some images show proposals, some none.
    const all = [];
    for (const id of ids) {
      const ann = await api.get(`/images/${id}/annotations`);
      all.push(...ann.boxes.filter((b) => b.status === 'proposed').map((b) => b.score));
    }
    assert.ok(all.length >= N, `the model proposed ${all.length} boxes on ${N} images`);
    threshold = Math.max(0.05, Math.floor(quantile(all, 0.8) * 100) / 100);
    console.log(`${all.length} proposals; scores ${Math.min(...all).toFixed(2)}..${Math.max(...all).toFixed(2)}; threshold ${threshold}`);
    await api.put('/me/preferences', { proposal_threshold: threshold });
  });

  after(async () => {
    if (ctx) await ctx.close();
    if (server) await server.stop();
  });

  it('walks the status=new filter with ] [ N Shift+N and Shift+Enter, and every image ends done as expected', async () => {
    const { page } = ctx;
    await page.goto(`${server.url}/#/images?status=new`);
    await page.locator('.image-card').first().waitFor();
    assert.equal(await page.locator('.image-card').count(), N);
    await page.click(`.image-card[data-id="${ids[0]}"] a.name`);
    await waitReady(page, ids[0]);
    await page.evaluate(() => {
      window.addEventListener('keydown', (e) => {
        window.__keyAt = performance.now();
        window.__key = e.key;
      }, true);
    });
    const progress = page.locator('#worklist-progress');
    await progress.filter({ hasText: `0 of ${N} reviewed` }).waitFor();
    assert.equal(await page.locator('#worklist-pos').textContent(), `1 / ${N}`);

    const benches = { plain: [], done: [] };
    // Waits for image `id` on screen and returns ms from the last key press.
    const arrive = async (id, kind) => {
      await waitReady(page, id);
      const ms = await page.evaluate(() => Number(document.querySelector('#viewport').dataset.shownAt) - window.__keyAt);
      benches[kind].push(ms);
      console.log(`bench: next image on screen ${ms.toFixed(0)} ms after ${kind === 'done' ? 'Shift+Enter (accept + save + done + next)' : 'the key (next/previous, nothing to save)'}`);
    };

    // Walk without changing anything: ] and [, N and Shift+N.
    await page.locator('#viewport').focus();
    await page.keyboard.press(']');
    await arrive(ids[1], 'plain');
    await page.keyboard.press('Shift+N');
    await waitReady(page, ids[0]);
    await page.keyboard.press('n');
    await arrive(ids[1], 'plain');
    await page.keyboard.press('[');
    await waitReady(page, ids[0]);
    for (const id of ids.slice(0, 2)) assert.equal((await api.get(`/images/${id}`)).status, 'new', 'walking changes nothing');

    for (let i = 0; i < N; i++) {
      const id = ids[i];
      await waitReady(page, id);
      await progress.filter({ hasText: `${i} of ${N} reviewed` }).waitFor();
      assert.equal(await page.locator('#worklist-pos').textContent(), `${i + 1} / ${N}`);
      await page.locator('#review-panel[data-ready="true"]').waitFor();
      // What the reader sees: pending proposals at or above the threshold, the best CAP of them.
      const ann = await api.get(`/images/${id}/annotations`);
      let shown = drawn(ann.boxes, threshold);
      assert.equal(Number(await page.locator('#proposal-count').getAttribute('data-drawn')), shown.length, `image ${i + 1}: proposals drawn`);
      const exp = { accepted: new Set(shown.map((b) => b.id)), rejected: new Set() };
      if (i % 5 === 2 && shown.length) {
        // Tab selects the first box listed, X rejects it; under the cap the next best takes its place on the image.
        await page.keyboard.press('Tab');
        await page.keyboard.press('x');
        exp.rejected.add(shown[0].id);
        shown = drawn(ann.boxes.map((b) => (b.id === shown[0].id ? { ...b, status: 'rejected' } : b)), threshold);
        exp.accepted = new Set(shown.map((b) => b.id));
        assert.equal(Number(await page.locator('#proposal-count').getAttribute('data-drawn')), shown.length);
      }
      expected.set(id, exp);
      if (i === 3) await shot(page, 'worklist-01-image-4');
      await page.keyboard.press('Shift+Enter');
      if (i + 1 < N) await arrive(ids[i + 1], 'done');
    }
    await progress.filter({ hasText: `${N} of ${N} reviewed` }).waitFor();
    await shot(page, 'worklist-02-last-done');

    for (const id of ids) {
      const img = await api.get(`/images/${id}`);
      assert.equal(img.status, 'done', `image ${id} done`);
      const ann = await api.get(`/images/${id}/annotations`);
      const exp = expected.get(id);
      for (const b of ann.boxes) {
        const want = exp.accepted.has(b.id) ? 'accepted' : exp.rejected.has(b.id) ? 'rejected' : 'proposed';
        assert.equal(b.status, want, `image ${id} box ${b.id} (score ${b.score})`);
      }
    }
    const nAcc = [...expected.values()].reduce((n, e) => n + e.accepted.size, 0);
    const nRej = [...expected.values()].reduce((n, e) => n + e.rejected.size, 0);
    console.log(`reviewed ${N} images: ${nAcc} proposals accepted, ${nRej} rejected`);
    console.log(`bench: next image on screen, median ${median(benches.plain).toFixed(0)} ms (${benches.plain.length} plain next) and ${median(benches.done).toFixed(0)} ms (${benches.done.length} Shift+Enter incl. save + done)`);
    // The library's filter is what the walk covered: no image is new any more.
    await page.keyboard.press('Escape');
    await page.click('#back');
    await page.waitForURL(/#\/images\?status=new$/);
    assert.equal((await api.get('/images?status=new')).total, 0);
    assert.deepEqual(ctx.problems.filter((p) => /Content Security Policy|page error/i.test(p)), []);
  });
});
