// Admin pages and the library's file tools in headless Chromium against the
// real `carina serve`: the first account (admin) sees Users and Labels in the
// top bar, creates an account with the Users page's form (registration is
// closed after the first account), changes a user's role, cannot drop the
// last admin's role, adds, renames, recolours and retires a
// label; a radiologist sees neither page
// and the server refuses the API calls behind them. In the library: several
// files uploaded one request each with a per-file error list, a file
// replaced, an image deleted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sharedDir } from './lib/server.js';
import { PASSWORD, loginUi, registerFirst } from './lib/accounts.js';
import { newContext, shot } from './lib/browser.js';

const S = path.join(sharedDir, 'data', 'samples');

describe('admin pages and library tools', () => {
  let server;
  let admin;
  let rad;

  before(async () => {
    server = await startServer();
    admin = await newContext();
    rad = await newContext();
    await registerFirst(admin.page, server.url, 'boss');
    // A second registration is refused: the login page says so.
    await rad.page.goto(server.url + '/');
    await rad.page.fill('#username', 'reader');
    await rad.page.fill('#password', PASSWORD);
    await rad.page.click('#register-btn');
    await rad.page.locator('#login-error', { hasText: 'registration is closed' }).waitFor();
    // The admin creates the account with the Users page's form.
    const { page } = admin;
    await page.click('#nav-admin-users');
    await page.locator('#new-user-form').waitFor();
    await page.fill('#new-user-name', 'reader');
    await page.fill('#new-user-password', PASSWORD);
    await page.locator('#new-user-role').selectOption('radiologist');
    await page.click('#new-user-btn');
    await page.locator('#toast', { hasText: 'Account reader created (radiologist)' }).waitFor();
    await page.locator('.user-row[data-username="reader"]').waitFor();
    // A weak password is refused with the server's reason.
    await page.fill('#new-user-name', 'weakling');
    await page.fill('#new-user-password', 'qwertyuiop');
    await page.click('#new-user-btn');
    await page.locator('#new-user-error', { hasText: 'too common' }).waitFor();
    assert.equal(await page.locator('.user-row[data-username="weakling"]').count(), 0);
    await loginUi(rad.page, server.url, 'reader');
  });

  after(async () => {
    for (const c of [admin, rad]) if (c) await c.close();
    if (server) await server.stop();
  });

  it('an admin changes a role on the Users page', async () => {
    const { page } = admin;
    await page.click('#nav-admin-users');
    const row = page.locator('.user-row[data-username="reader"]');
    await row.waitFor();
    assert.equal(await row.locator('select').inputValue(), 'radiologist');
    await row.locator('select').selectOption('viewer');
    await page.locator('#toast', { hasText: 'reader is now viewer' }).waitFor();
    await shot(page, 'admin-users');
    const res = await admin.context.request.get(`${server.url}/api/v1/users`);
    const users = (await res.json()).users;
    assert.equal(users.find((u) => u.username === 'reader').role, 'viewer');
    // And back, so the reader can upload below.
    await row.locator('select').selectOption('radiologist');
    await page.locator('#toast', { hasText: 'reader is now radiologist' }).waitFor();
    // The only admin cannot give up the role: the server answers 409 and the choice reverts.
    const mine = page.locator('.user-row[data-username="boss"]');
    page.once('dialog', (d) => d.accept());
    await mine.locator('select').selectOption('viewer');
    await page.locator('#toast', { hasText: 'last admin' }).waitFor();
    assert.equal(await mine.locator('select').inputValue(), 'admin');
  });

  it('an admin adds, renames, recolours and retires labels', async () => {
    const { page } = admin;
    await page.click('#nav-admin-labels');
    await page.locator('.label-row').first().waitFor();
    assert.equal(await page.locator('.label-row').count(), 9, 'the nine findings');
    await page.fill('#new-label-name', 'Rib fracture');
    await page.locator('#new-label-color').fill('#12ab34');
    await page.click('#new-label-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('.label-row').length === 10);
    const added = page.locator('.label-row').nth(9);
    const newId = Number(await added.getAttribute('data-id'));
    const firstId = Number(await page.locator('.label-row').first().getAttribute('data-id'));
    assert.equal(await added.locator('.label-name').inputValue(), 'Rib fracture');
    await added.locator('.label-name').fill('Rib fracture (acute)');
    await added.locator('.label-name').press('Enter');
    await page.locator('#toast', { hasText: 'renamed' }).waitFor();
    await added.locator('.label-color').fill('#0000ff');
    await page.locator('#toast', { hasText: 'recoloured' }).waitFor();
    page.once('dialog', (d) => d.accept());
    await page.locator(`.label-row[data-id="${firstId}"] .label-retire`).click();
    await page.locator(`.label-row[data-id="${firstId}"] .label-state`, { hasText: 'retired' }).waitFor();
    await shot(page, 'admin-labels');
    const labels = (await (await admin.context.request.get(`${server.url}/api/v1/labels`)).json()).labels;
    const created = labels.find((l) => l.id === newId);
    assert.deepEqual([created.name, created.color, created.retired], ['Rib fracture (acute)', '#0000ff', false]);
    assert.equal(labels.find((l) => l.id === firstId).retired, true);
    // Restore it again.
    await page.locator(`.label-row[data-id="${firstId}"] .label-retire`).click();
    await page.locator(`.label-row[data-id="${firstId}"] .label-state`, { hasText: 'active' }).waitFor();
  });

  it('a radiologist sees no admin pages and the server refuses them', async () => {
    const { page } = rad;
    await page.goto(server.url + '/#/images');
    await page.locator('#nav-images').waitFor();
    assert.equal(await page.locator('#nav-admin-users').count(), 0);
    assert.equal(await page.locator('#nav-admin-labels').count(), 0);
    await page.goto(server.url + '/#/admin/users');
    await page.locator('#admin-forbidden').waitFor();
    assert.equal(await page.locator('.user-row').count(), 0);
    const res = await rad.context.request.get(`${server.url}/api/v1/users`);
    assert.equal(res.status(), 403);
  });

  it('uploads several files one by one, lists the failures, replaces and deletes', async () => {
    const { page } = rad;
    await page.goto(server.url + '/#/images');
    await page.locator('#dropzone').waitFor();
    const files = [
      { name: 'ok-1.png', mimeType: 'image/png', buffer: fs.readFileSync(path.join(S, 'png', '00000001_000.png')) },
      { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('this is not a png') },
      { name: 'ok-2.jpeg', mimeType: 'image/jpeg', buffer: fs.readFileSync(path.join(S, 'jpeg', 'person1946_bacteria_4874.jpeg')) },
    ];
    await page.setInputFiles('#file-input', files);
    await page.locator('#upload-status', { hasText: 'uploaded 2 of 3 file(s); 1 failed' }).waitFor({ timeout: 60_000 });
    const failures = await page.locator('#upload-results li').allTextContents();
    assert.equal(failures.length, 1);
    assert.match(failures[0], /^broken\.png: /);
    await page.waitForFunction(() => document.querySelectorAll('.image-card').length === 2);
    // Every card shows a thumbnail that loaded, its status and who touched it last.
    await page.waitForFunction(() => [...document.querySelectorAll('.image-card img')].every((i) => i.complete && i.naturalWidth > 0));
    const meta = await page.locator('.image-card').first().textContent();
    assert.match(meta, /new/);
    assert.match(meta, /last: reader/);
    await shot(page, 'library-after-upload');

    const list = async () => (await (await rad.context.request.get(`${server.url}/api/v1/images`)).json()).images;
    const before = await list();
    const target = before.find((i) => i.format === 'png');
    page.once('filechooser', (fc) => fc.setFiles({ name: 'replacement.png', mimeType: 'image/png',
      buffer: fs.readFileSync(path.join(S, 'png', '00027426_000.png')) }));
    await page.locator(`.image-card[data-id="${target.id}"] .replace-btn`).click();
    await page.locator('#toast', { hasText: 'File replaced' }).waitFor({ timeout: 30_000 });
    const after = (await list()).find((i) => i.id === target.id);
    assert.notEqual(after.sha256, target.sha256, 'the file was replaced');

    // Radiologists cannot delete; the admin can.
    assert.equal(await page.locator('.delete-btn').count(), 0);
    const apage = admin.page;
    await apage.goto(server.url + '/#/images');
    await apage.locator(`.image-card[data-id="${target.id}"] .delete-btn`).waitFor();
    apage.once('dialog', (d) => d.accept());
    await apage.locator(`.image-card[data-id="${target.id}"] .delete-btn`).click();
    await apage.locator('#toast', { hasText: 'Image deleted' }).waitFor();
    await apage.waitForFunction(() => document.querySelectorAll('.image-card').length === 1);
    assert.equal((await list()).length, 1);
  });
});
