#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine: installs what the
# tests need (PostgreSQL, Chromium, the browser-test npm packages), starts a
# private PostgreSQL cluster for the run, then runs the Rust and browser tests.
# Usage: ./scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# Each "==" line says how long the run has taken so far (CI keeps the log).
SECONDS=0

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
# CharLS (JPEG-LS, the `jpegls` feature of carina-imaging) builds with cmake and g++.
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# The report tests read the generated PDFs back with poppler's pdftotext.
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
# dcmtk's dsrdump reads Carina's DICOM SR in carina-sr's tests.
command -v dsrdump >/dev/null 2>&1 || need_apt+=(dcmtk)
# Orthanc, a real PACS for the DICOM node's tests (carina-testkit starts it
# on loopback ports with a config of its own; the package's service is not used).
command -v Orthanc >/dev/null 2>&1 || [ -x /usr/sbin/Orthanc ] || need_apt+=(orthanc)
# Its DICOMweb plugin, as a DICOMweb client of Carina in the Orthanc tests.
[ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] || need_apt+=(orthanc-dicomweb)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== [${SECONDS}s] installing ${need_apt[*]} (apt-get)"
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
echo "== [${SECONDS}s] PostgreSQL for tests at $CARINA_TEST_DATABASE_URL"

# A real S3-compatible server for the object store's S3 tests: moto's, from
# PyPI into a virtual environment kept under target/ (reused when present).
# A failed install fails the run: the S3 tests must not be skipped silently.
motovenv="$root/target/moto-venv"
if [ ! -x "$motovenv/bin/moto_server" ]; then
  echo "== [${SECONDS}s] installing moto (pip, into $motovenv)"
  rm -rf "$motovenv"
  python3 -m venv "$motovenv"
  "$motovenv/bin/pip" install -q --disable-pip-version-check 'moto[s3]==5.*' flask flask-cors \
    || { echo "error: pip could not install moto for the S3 tests" >&2; exit 1; }
fi
s3port=${CARINA_TEST_S3_PORT:-55441}
"$motovenv/bin/moto_server" -H 127.0.0.1 -p "$s3port" >"$pgdir/moto.log" 2>&1 &
motopid=$!
trap 'kill "$motopid" 2>/dev/null || true; run_pg "$pgbin/pg_ctl -D $pgdir/data -m immediate stop >/dev/null" || true; rm -rf "$pgdir"' EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$s3port/" 2>/dev/null && break
  kill -0 "$motopid" 2>/dev/null || { cat "$pgdir/moto.log" >&2; echo "error: moto_server exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$s3port/" || { cat "$pgdir/moto.log" >&2; echo "error: moto_server is not answering" >&2; exit 1; }
export CARINA_TEST_S3_ENDPOINT="http://127.0.0.1:$s3port"
echo "== [${SECONDS}s] S3 (moto) for tests at $CARINA_TEST_S3_ENDPOINT"

# highdicom (with pydicom) reads Carina's DICOM SR and writes one for Carina to
# read in carina-sr's tests: a virtual environment kept under target/ (reused
# when present). A failed install fails the run, as the tests would under CI.
hdvenv="$root/target/highdicom-venv"
if ! "$hdvenv/bin/python" -c 'import highdicom' >/dev/null 2>&1; then
  echo "== [${SECONDS}s] installing highdicom (pip, into $hdvenv)"
  rm -rf "$hdvenv"
  python3 -m venv "$hdvenv"
  "$hdvenv/bin/pip" install -q --disable-pip-version-check 'highdicom==0.28.*' \
    || { echo "error: pip could not install highdicom for the SR tests" >&2; exit 1; }
fi
export CARINA_TEST_HIGHDICOM_PYTHON="$hdvenv/bin/python"
echo "== [${SECONDS}s] highdicom for tests at $CARINA_TEST_HIGHDICOM_PYTHON"

# The dicomweb-client package (with pydicom) runs QIDO, WADO and STOW against
# a running Carina (crates/carina-server/tests/api/dicomweb_client.rs).
dwvenv="$root/target/dicomweb-venv"
if ! "$dwvenv/bin/python" -c 'import dicomweb_client' >/dev/null 2>&1; then
  echo "== [${SECONDS}s] installing dicomweb-client (pip, into $dwvenv)"
  rm -rf "$dwvenv"
  python3 -m venv "$dwvenv"
  "$dwvenv/bin/pip" install -q --disable-pip-version-check 'dicomweb-client==0.60.*' \
    || { echo "error: pip could not install dicomweb-client for the DICOMweb tests" >&2; exit 1; }
fi
export CARINA_TEST_DICOMWEB_PYTHON="$dwvenv/bin/python"
echo "== [${SECONDS}s] dicomweb-client for tests at $CARINA_TEST_DICOMWEB_PYTHON"

# ONNX Runtime (the `ort` feature, loaded at run time from ORT_DYLIB_PATH):
# the library the onnxruntime wheel carries, for the ort parity tests. A
# configured library that fails to load fails the tests.
ortvenv="$root/target/ort-venv"
if ! ls "$ortvenv"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* >/dev/null 2>&1; then
  echo "== [${SECONDS}s] installing onnxruntime (pip, into $ortvenv)"
  rm -rf "$ortvenv"
  python3 -m venv "$ortvenv"
  "$ortvenv/bin/pip" install -q --disable-pip-version-check 'onnxruntime==1.32.*' \
    || { echo "error: pip could not install onnxruntime for the ort parity tests" >&2; exit 1; }
fi
ORT_DYLIB_PATH=$(ls "$ortvenv"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)
export ORT_DYLIB_PATH
echo "== [${SECONDS}s] ONNX Runtime for tests at $ORT_DYLIB_PATH"

# Browser-test packages (playwright-core drives Debian's chromium).
if [ -f tests-e2e/package.json ]; then
  (cd tests-e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# The editor's build (web/dist) is committed and embedded in the binary: it
# must be exactly what its sources build to (the build is deterministic).
if [ -f web/package.json ]; then
  echo "== [${SECONDS}s] web/dist is current"
  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent -- --logLevel error)
  if ! git diff --exit-code --stat -- web/dist || [ -n "$(git status --porcelain --untracked-files=all -- web/dist)" ]; then
    git status --short -- web/dist | head -n 20
    echo "error: the committed web/dist does not match web/ sources;" \
      "run (cd web && npm ci && npm run build) and commit web/dist" >&2
    exit 1
  fi
fi

# No import circle between source files (Rust crates and web/src).
echo "== [${SECONDS}s] import circles"
python3 scripts/import-cycles.py

echo "== [${SECONDS}s] cargo fmt --check"
cargo fmt --all -- --check


# With CARINA_TEST_DATABASE_URL and CARINA_TEST_S3_ENDPOINT set, `cargo test` also
# runs the soak test (crates/carina/tests/cli/soak.rs: two `carina serve` and two
# `carina worker` on this PostgreSQL and S3 server, about two minutes).
# One build for every test: the optional features are on, so nothing is
# compiled twice (a `-p` or second feature set would rebuild most of the
# dependency tree on two cores): JPEG-LS through CharLS (C++, built with
# cmake) and ONNX Runtime as an engine (`carina/ort`: its parity tests, and
# the CLI's `--engine ort`). Lints as errors on every target (benches and
# examples too), with the same features: a check build of its own.
# CARINA_TEST_CUDA=1 adds `carina/cuda` to it (burn's CUDA backend, compiled
# and linted, never linked): its LLVM 23.1 is a GitHub download of
# tracel-llvm-bundler's build script (README, "Training on a GPU"), and
# DOCS_RS=1, docs.rs's switch, makes that build script and cubecl-llvm's skip
# LLVM. Opt-in because it is not cheap: the CUDA crates turn on proc-macro2's
# `span-locations` and cc's `parallel` on the host, so the clippy build no
# longer shares its proc-macros and build scripts with the test build.
features=carina/ort,carina-imaging/jpegls
clippy_features=$features
clippy_env=()
if [ "${CARINA_TEST_CUDA:-0}" = 1 ]; then
  clippy_features+=,carina/cuda
  clippy_env=(DOCS_RS=1)
fi
echo "== [${SECONDS}s] cargo clippy --features $clippy_features -D warnings"
env "${clippy_env[@]}" cargo clippy --workspace --all-targets --locked --features "$clippy_features" -- -D warnings
echo "== [${SECONDS}s] cargo test --features $features"
cargo test --workspace --locked --features "$features" "$@"



if [ -f tests-e2e/package.json ]; then
  echo "== [${SECONDS}s] browser tests"
  (cd tests-e2e && npm test)
fi

echo "== [${SECONDS}s] all tests passed"
