// Launches Debian's Chromium through playwright-core with the flags that work
// on these machines (no GPU: WebGL runs on SwiftShader). `--user-data-dir`
// cannot be passed as an argument, so each context gets its own persistent
// profile directory instead.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const EXECUTABLE = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const SHOTS = process.env.E2E_SHOTS || '/tmp/e2e-shots';

/**
 * A fresh browser context with its own cookies. Collects page errors, failed
 * requests and console errors (CSP violations show up there) in `problems`.
 */
export async function newContext() {
  if (!fs.existsSync(EXECUTABLE)) throw new Error(`Chromium not found at ${EXECUTABLE} (apt-get install chromium)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carina-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: EXECUTABLE,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] || (await context.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  const close = async () => {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { context, page, problems, close };
}

export async function shot(page, name, target) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name + '.png');
  await (target || page).screenshot({ path: file });
  return file;
}

/**
 * Brightness statistics of what is actually on screen inside `locator`: the
 * element's screenshot is decoded in the page and its pixels read back.
 * `regions` are {name: [x0, y0, x1, y1]} as fractions of the element.
 */
export async function pixelStats(page, locator, regions = {}) {
  const png = await locator.screenshot();
  return page.evaluate(async ({ b64, regions }) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const { data, width, height } = g.getImageData(0, 0, c.width, c.height);
    const lum = (i) => 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    const stat = ([fx0, fy0, fx1, fy1]) => {
      let n = 0, sum = 0, sq = 0, nonBlack = 0;
      for (let y = Math.floor(fy0 * height); y < Math.floor(fy1 * height); y++) {
        for (let x = Math.floor(fx0 * width); x < Math.floor(fx1 * width); x++) {
          const v = lum((y * width + x) * 4);
          n++; sum += v; sq += v * v;
          if (v > 16) nonBlack++;
        }
      }
      const mean = sum / n;
      return { mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), nonBlack: nonBlack / n };
    };
    const out = { all: stat([0, 0, 1, 1]) };
    for (const [k, r] of Object.entries(regions)) out[k] = stat(r);
    return out;
  }, { b64: png.toString('base64'), regions });
}
