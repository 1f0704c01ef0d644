// Issue 13, broken 1: the Reports and My readings tables lay out as tables.
// The library's card grid rule (`.grid {display: grid}`) used to match
// `table.grid` too, so header and body cells overlapped. Here every column's
// header cell and body cells must share their left edge and width.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.js';
import { shot } from './lib/browser.js';
import { adminContext, apiAccount, csrfOf, uploadDisc, postJson } from './lib/fixtures.js';

/** For every `table.grid` on the page: per column, header vs body cell boxes. */
async function columnMisfits(page) {
  return page.evaluate(() => {
    const out = [];
    for (const [t, table] of [...document.querySelectorAll('table.grid')].entries()) {
      const heads = [...table.querySelectorAll('thead th')].map((c) => c.getBoundingClientRect());
      for (const tr of table.querySelectorAll('tbody tr')) {
        const cells = [...tr.children];
        if (cells.length !== heads.length) continue; // a "nothing here" row spanning all columns
        cells.forEach((c, i) => {
          const r = c.getBoundingClientRect();
          if (Math.abs(r.left - heads[i].left) > 1 || Math.abs(r.width - heads[i].width) > 1) {
            out.push(`table ${t} column ${i}: header x ${heads[i].left.toFixed(0)} w ${heads[i].width.toFixed(0)}, cell x ${r.left.toFixed(0)} w ${r.width.toFixed(0)}`);
          }
          if (r.top < heads[i].bottom - 1) out.push(`table ${t} column ${i}: body cell above the header's bottom`);
        });
      }
    }
    return out;
  });
}

describe('report and reading tables', () => {
  let server;
  let admin;
  let names; // display names of the two assigned images

  before(async () => {
    server = await startServer();
    admin = await adminContext(server.url);
    const url = server.url;
    const req = admin.context.request;
    const headers = { 'X-CSRF-Token': await csrfOf(admin, url) };
    await apiAccount(admin, url, 'reader1');
    // One image with a report, one the admin reads blind, one the admin reviews.
    const a = await uploadDisc(req, url, headers, 1);
    const b = await uploadDisc(req, url, headers, 2);
    const c = await uploadDisc(req, url, headers, 3);
    const report = await postJson(req, url, headers, `/images/${a.id}/reports`, { impression: 'Rounded opacity, right lower zone.' });
    assert.ok(report.id);
    await postJson(req, url, headers, `/images/${b.id}/assignments`, { readers: ['alice'], reviewer: 'reader1' });
    await postJson(req, url, headers, `/images/${c.id}/assignments`, { readers: ['reader1'], reviewer: 'alice' });
    names = [b.display_name, c.display_name];
  });

  after(async () => {
    if (admin) await admin.close();
    if (server) await server.stop();
  });

  it('Reports: header and body cells share each column', async () => {
    const { page } = admin;
    await page.goto(server.url + '/#/reports');
    await page.locator('.report-row').first().waitFor();
    await shot(page, 'tables-reports');
    assert.deepEqual(await columnMisfits(page), []);
    assert.equal(await page.locator('table.grid').evaluate((t) => getComputedStyle(t).display), 'table');
  });

  it('My readings: both tables keep their columns', async () => {
    const { page } = admin;
    await page.goto(server.url + '/#/readings');
    await page.locator('.reading-row').first().waitFor();
    await page.locator('.review-row').first().waitFor();
    await shot(page, 'tables-readings');
    assert.equal(await page.locator('table.grid').count(), 2);
    assert.deepEqual(await columnMisfits(page), []);
    // Rows name their image by its display name, not "image <id>".
    await page.waitForFunction(() => [...document.querySelectorAll('td.image-name')].every((td) => !/^image \d+$/.test(td.textContent)));
    assert.deepEqual(await page.locator('td.image-name').allTextContents(), names);
    assert.deepEqual(admin.problems.filter((p) => /page error|Content Security Policy/i.test(p)), []);
  });
});
