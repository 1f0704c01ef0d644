// Helpers of the editor's browser tests: an API client with the page's
// cookies and CSRF token, uploads and model runs through the API, and the
// mapping from image pixels to page coordinates after "Fit".
import assert from 'node:assert/strict';
import zlib from 'node:zlib';

/** {get, put, post, patch} on /api/v1 with the context's session and CSRF token. */
export async function apiOf(ctx, url) {
  const req = ctx.context.request;
  const me = await (await req.get(`${url}/api/v1/me`)).json();
  assert.ok(me.csrf_token, `not logged in: ${JSON.stringify(me)}`);
  const headers = { 'X-CSRF-Token': me.csrf_token };
  const call = async (method, path, opts = {}) => {
    const res = await req.fetch(`${url}/api/v1${path}`, { method, headers: { ...headers, ...(opts.headers || {}) }, data: opts.data, multipart: opts.multipart, timeout: 180_000 });
    const text = await res.text();
    if (res.status() >= 400 && !opts.allow) throw new Error(`${method} ${path}: ${res.status()} ${text}`);
    return { status: res.status(), body: text ? JSON.parse(text) : null };
  };
  return {
    get: async (path) => (await call('GET', path)).body,
    put: async (path, data, headersExtra) => (await call('PUT', path, { data, headers: headersExtra })).body,
    post: async (path, data) => (await call('POST', path, { data })).body,
    patch: async (path, data) => (await call('PATCH', path, { data })).body,
    call,
    /** Uploads PNG bytes as `name`; returns the image object. */
    upload: async (name, buffer) => (await call('POST', '/images', { multipart: { file: { name, mimeType: 'image/png', buffer } } })).body,
  };
}

/** The same PNG with a tEXt chunk before IEND: other bytes (another sha256), the same pixels. */
export function pngVariant(png, text) {
  const iend = png.length - 12;
  assert.equal(png.subarray(iend + 4, iend + 8).toString('latin1'), 'IEND');
  const data = Buffer.from(`Comment\0${text}`, 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from('tEXt', 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td));
  return Buffer.concat([png.subarray(0, iend), len, td, crc, png.subarray(iend)]);
}

export async function waitReady(page, imageId = null) {
  const sel = imageId === null ? '#viewport[data-ready="true"]' : `#viewport[data-ready="true"][data-image-id="${imageId}"]`;
  await page.locator(sel).waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('#image-error').isVisible(), false,
    'image error: ' + (await page.locator('#image-error').textContent()));
}

/** Page coordinates of image pixels after "Fit" (centred, one scale). */
export async function fitMapping(page, width, height) {
  const r = await page.locator('#viewport').boundingBox();
  const s = Math.min(r.width / width, r.height / height);
  const ox = r.x + (r.width - width * s) / 2;
  const oy = r.y + (r.height - height * s) / 2;
  return { s, toPage: ([x, y]) => [ox + x * s, oy + y * s] };
}

export async function drag(page, from, to, { button = 'left', steps = 8 } = {}) {
  await page.mouse.move(from[0], from[1]);
  await page.mouse.down({ button });
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(from[0] + ((to[0] - from[0]) * i) / steps, from[1] + ((to[1] - from[1]) * i) / steps);
  }
  await page.mouse.up({ button });
}

/** Boxes listed beside the image: [{key, classId, bbox, status, model}]. */
export async function listedBoxes(page) {
  return page.locator('#box-list li.box-item').evaluateAll((els) => els.map((e) => ({
    key: e.dataset.key, classId: Number(e.dataset.classId), bbox: JSON.parse(e.dataset.bbox), status: e.dataset.status, model: e.classList.contains('model'),
  })));
}
