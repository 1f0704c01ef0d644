// Starts the real `carina` binary on a free port with a fresh data directory
// and stops it again. The binary comes from CARINA_BIN, else from the Cargo
// target directory (CARGO_TARGET_DIR or <repo>/target)/debug/carina.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The shared data folder laid beside the clone (tests may read it). */
export const sharedDir = path.resolve(repoRoot, '..', 'shared');

export function carinaBin() {
  if (process.env.CARINA_BIN) return process.env.CARINA_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target');
  return path.join(target, 'debug', 'carina');
}

/**
 * Runs `carina serve --bind 127.0.0.1:0 --data-dir <tmp>` and resolves with
 * {url, stop, dataDir, output} once it prints `listening on http://HOST:PORT`.
 */
export async function startServer({ env = {} } = {}) {
  const bin = carinaBin();
  if (!fs.existsSync(bin)) {
    throw new Error(`carina binary not found at ${bin}: build it (cargo build -p carina) or set CARINA_BIN`);
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'carina-e2e-'));
  const child = spawn(bin, ['serve', '--bind', '127.0.0.1:0', '--data-dir', dataDir], {
    // Uploads queue no model predictions unless a test asks for them
    // (review.test.js does): proposals landing mid-test would change the
    // annotation versions the other tests save against.
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn', CARINA_PREDICT_ON_UPLOAD: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`carina serve did not report its address within 60 s:\n${output}`)), 60_000);
    const onData = (d) => {
      output += d.toString();
      const m = output.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => {
      output += d.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`carina serve exited with ${code} before listening:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  const stop = async () => {
    if (child.exitCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { url, stop, dataDir, output: () => output };
}
