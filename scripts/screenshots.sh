#!/usr/bin/env bash
# Regenerates the README's screenshots (docs/screenshots/*.png, 1440 × 900)
# from the real server with the shipped samples: builds the web editor, then
# runs tests-e2e/screenshots.mjs with that build served from disk.
# Usage: ./scripts/screenshots.sh   (CARINA_BIN: the carina binary, default
# target/debug/carina; the samples are read from ../shared/data/samples)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
(cd web && npm ci --no-audit --no-fund >/dev/null && npm run build >/dev/null)
(cd tests-e2e && npm ci --no-audit --no-fund >/dev/null)
export CARINA_BIN="${CARINA_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/carina}"
export CARINA_WEB_DIR="${CARINA_WEB_DIR:-$root/web/dist}"
cd tests-e2e && npm run --silent screenshots
