#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine: installs what the
# tests need (PostgreSQL, Chromium, the browser-test npm packages), starts a
# private PostgreSQL cluster for the run, then runs the Rust and browser tests.
# Usage: ./scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]} (apt-get)"
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
  "${apt_get[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# A private PostgreSQL cluster, removed when the run ends.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pgdir=$(mktemp -d /tmp/carina-pg.XXXXXX)
pgport=${CARINA_TEST_PG_PORT:-55439}
run_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
run_pg "$pgbin/initdb -D $pgdir/data -U carina --auth=trust -E UTF8 >/dev/null"
run_pg "$pgbin/pg_ctl -D $pgdir/data -l $pgdir/log -w -o '-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off' start >/dev/null"
trap 'run_pg "$pgbin/pg_ctl -D $pgdir/data -m immediate stop >/dev/null" || true; rm -rf "$pgdir"' EXIT
export CARINA_TEST_DATABASE_URL="postgres://carina@127.0.0.1:$pgport/postgres"
echo "== PostgreSQL for tests at $CARINA_TEST_DATABASE_URL"

# Browser-test packages (playwright-core drives Debian's chromium).
if [ -f tests-e2e/package.json ]; then
  (cd tests-e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# The editor's build (web/dist) is committed and embedded in the binary: it
# must be exactly what its sources build to (the build is deterministic).
if [ -f web/package.json ]; then
  echo "== web/dist is current"
  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent -- --logLevel error)
  if ! git diff --exit-code --stat -- web/dist || [ -n "$(git status --porcelain --untracked-files=all -- web/dist)" ]; then
    git status --short -- web/dist | head -n 20
    echo "error: the committed web/dist does not match web/ sources;" \
      "run (cd web && npm ci && npm run build) and commit web/dist" >&2
    exit 1
  fi
fi

echo "== cargo test"
cargo test --workspace --locked "$@"

if [ -f tests-e2e/package.json ]; then
  echo "== browser tests"
  (cd tests-e2e && npm test)
fi
